"""The report and rating endpoints over HTTP: JSON, CSV and XLSX read back, problems, one rating per dossier."""

import csv
import io
import threading

import httpx
from openpyxl import load_workbook

from tests import report_fixture
from tests.report_fixture import APPLICANT_ID

Q1 = {"from": "2025-01-01", "to": "2025-03-31"}


def test_json_rows_by_unit(client, services):
    report_fixture.load(services)
    response = client.get("/api/v1/reports/service-quality", params={**Q1, "groupBy": "unit"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["to"], body["groupBy"]) == ("2025-01-01", "2025-03-31", "unit")
    rows = {r["group"]: r for r in body["rows"]}
    # Counts that do not depend on the day the test runs (see test_reports.py for the arithmetic).
    assert rows["SYT"]["received"] == 13 and rows["XA1"]["received"] == 4
    assert rows["XA1"]["onlineRate"] == 1 / 4
    assert rows["XA1"]["fullOnlineRate"] is None
    assert rows["SYT"]["eResultRate"] == 4 / 7  # A01 A02 A08 B01 of A01 A02 A03 A04 A08 B01 B02
    for key in ("finished", "onTimeRate", "onlinePaymentRate", "digitisationRate", "reuseRate",
                "satisfactionRate", "checks", "points", "pointsMax"):
        assert key in rows["SYT"]
    checks = {c["figure"]: c for c in rows["SYT"]["checks"]}
    assert checks["satisfactionRate"]["target"] == 0.9 and checks["satisfactionRate"]["maxPoints"] == 18


def test_csv_and_xlsx_carry_the_same_rows(client, services):
    report_fixture.load(services)
    params = {**Q1, "groupBy": "procedure"}
    rows = {r["group"]: r for r in client.get("/api/v1/reports/service-quality", params=params).json()["rows"]}

    response = client.get("/api/v1/reports/service-quality", params={**params, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="chat-luong-20250101-20250331-procedure.csv"' in response.headers["content-disposition"]
    text = response.content.decode("utf-8-sig")
    lines = list(csv.DictReader(io.StringIO(text)))
    assert [line["Mã nhóm"] for line in lines] == ["P1", "P2", "P3"]
    p1 = lines[0]
    assert p1["Tên"] == "Cấp chứng chỉ hành nghề dược"
    assert int(p1["Tiếp nhận"]) == rows["P1"]["received"] == 10
    assert float(p1["Tỷ lệ trực tuyến"]) == rows["P1"]["onlineRate"] == 8 / 10
    assert lines[2]["Tỷ lệ toàn trình"] == ""  # P3 is not offered fully online

    response = client.get("/api/v1/reports/service-quality", params={**params, "format": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert "01/01/2025" in sheet["A1"].value
    header = [c.value for c in sheet[2]]
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=3)]
    by_group = {v[0]: dict(zip(header, v, strict=True)) for v in values}
    assert by_group["P2"]["Tiếp nhận"] == 4
    assert by_group["P2"]["Tỷ lệ kết quả điện tử"] == rows["P2"]["eResultRate"] == 2 / 4
    assert by_group["P1"]["Tỷ lệ TTTT/hồ sơ có phí"] == rows["P1"]["onlinePaymentRate"] == 6 / 10
    assert sheet.cell(row=3, column=header.index("Tỷ lệ đúng hạn") + 1).number_format == "0.00%"


def test_bad_report_parameters_are_problems(client, services):
    report_fixture.load(services)
    cases = [({"from": "2025-03-01", "to": "2025-02-01"}, "to", "invalid_period"),
             ({"from": "2018-01-01", "to": "2025-01-01"}, "from", "period_too_long"),
             ({**Q1, "groupBy": "district"}, "groupBy", "unknown_grouping"),
             ({**Q1, "unit": "KHONGCO"}, "unit", "unknown_unit"),
             ({"from": "2025-13-01", "to": "2025-12-31"}, "from", "validation_error"),
             ({**Q1, "format": "pdf"}, "format", "validation_error"),
             ({"from": "0001-01-01", "to": "0001-12-31"}, "from", "date_out_of_range"),
             ({"from": "9999-01-01", "to": "9999-12-31"}, "from", "date_out_of_range"),
             ({"from": "2100-06-01", "to": "9999-12-31"}, "to", "date_out_of_range")]
    for params, field, code in cases:
        response = client.get("/api/v1/reports/service-quality", params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert (body["field"], body["code"]) == (field, code), params
        assert body["title"] == "Dữ liệu không hợp lệ"


def rate(client, code, **body):
    return client.post(f"/api/v1/public/dossiers/{code}/rating", json={"idNumber": APPLICANT_ID, **body})


def test_rating_once_per_finished_dossier(client, services):
    report_fixture.load(services)
    # D03 is still open; A05 in progress: neither can be rated yet
    assert rate(client, "D03", score=5).json()["code"] == "not_finished"
    assert rate(client, "A05", score=5).status_code == 409
    # A wrong ID number and an unknown code get the same answer
    wrong = client.post("/api/v1/public/dossiers/A04/rating", json={"idNumber": "999999999", "score": 4})
    unknown = rate(client, "KHONG-CO", score=4)
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert rate(client, "A04", score=6).status_code == 422
    assert rate(client, "A04", score=4, bogus=1).status_code == 422

    first = rate(client, "A04", score=2, comment="Cán bộ nhiệt tình", complaint="Trễ hẹn hai ngày")
    assert first.status_code == 201, first.text
    assert first.json()["score"] == 2 and first.json()["complaint"] == "Trễ hẹn hai ngày"
    again = rate(client, "A04", score=5)
    assert again.status_code == 409 and again.json()["code"] == "already_rated"

    # The rating counts: A04 joins A02 and C01 among the complaints of Q1 (3 of 16 evaluated)
    (row,) = client.get("/api/v1/reports/service-quality", params=Q1).json()["rows"]
    assert (row["ratings"], row["complaints"], row["complaintRate"]) == (8, 3, 3 / 16)


def test_concurrent_ratings_one_wins(client, services, server):
    report_fixture.load(services)
    results: list[int] = []
    barrier = threading.Barrier(6)

    def attempt(score: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            barrier.wait()
            results.append(rate(http, "B02", score=score).status_code)

    threads = [threading.Thread(target=attempt, args=(s,)) for s in (1, 2, 3, 4, 5, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201, 409, 409, 409, 409, 409]
