"""The public disclosure page and the periodic reports (printable HTML, XLSX) over HTTP."""

import io
import re
import unicodedata

from openpyxl import load_workbook
from pypdf import PdfReader

from tests import report_fixture

Q1 = {"from": "2025-01-01", "to": "2025-03-31"}


def cells(page: str) -> str:
    """The page's text with tags removed and whitespace collapsed, for reading the numbers."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_public_page_per_unit_and_procedure(client, services):
    report_fixture.load(services)
    response = client.get("/public/service-quality", params=Q1)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src" not in response.headers["content-security-policy"]
    page = response.text
    assert "<script" not in page
    text = cells(page)
    assert "Công khai chất lượng giải quyết thủ tục hành chính" in text
    assert "Hồ sơ tiếp nhận từ 01/01/2025 đến 31/03/2025" in text
    assert "Cập nhật lúc" in text
    # Judged today (after August 2025), A05 (due 1 Aug 2025) is overdue too: 8 late of 16, 3 still open past due.
    assert "Tiếp nhận 17 hồ sơ, đã giải quyết 11 , trễ hạn 8 (trong đó 1 hồ sơ đã có văn bản xin lỗi)" in text
    assert "đang quá hạn 3" in text
    assert "Tỷ lệ giải quyết đúng hạn 50 % ≥ 97 % Chưa đạt" in text
    assert "Tỷ lệ nộp trực tuyến 58,82 % ≥ 50 % Đạt" in text  # 10/17
    assert "Mức độ hài lòng" in text
    # one row per unit and per procedure, with its bar chart
    assert "Sở Y tế Hải Phòng 13 7" in text  # received, finished
    assert "UBND xã An Hưng 4 4 75 %" in text  # C04 late
    assert "Cấp chứng chỉ hành nghề dược 10" in text
    assert page.count("<svg class=\"bar\"") >= 10


def test_public_page_refuses_a_reversed_period(client, services):
    response = client.get("/public/service-quality", params={"from": "2025-05-01", "to": "2025-01-01"})
    assert response.status_code == 422
    assert "Ngày bắt đầu phải trước hoặc bằng ngày kết thúc" in response.text
    response = client.get("/public/service-quality", params={"from": "9999-12-01", "to": "9999-12-31"})
    assert response.status_code == 422 and "Ngày phải trong khoảng" in response.text


def test_public_page_without_dossiers(client, services):
    response = client.get("/public/service-quality", params=Q1)
    assert response.status_code == 200
    assert "Không có hồ sơ nào được tiếp nhận trong kỳ." in response.text


def test_quarterly_report_html_and_xlsx(client, services):
    report_fixture.load(services)
    response = client.get("/api/v1/reports/periodic", params={"year": 2025, "period": "Q1"})
    assert response.status_code == 200, response.text
    text = cells(response.text)
    assert "Báo cáo kết quả giải quyết thủ tục hành chính Quý I năm 2025" in text
    for heading in ("1. Toàn thành phố", "2. Theo đơn vị", "3. Theo thủ tục", "4. Theo lĩnh vực"):
        assert heading in text
    assert "Y tế dự phòng 4 4 75 %" in text

    response = client.get("/api/v1/reports/periodic", params={"year": 2025, "period": "H1", "format": "xlsx"})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Toàn thành phố", "Theo đơn vị", "Theo thủ tục", "Theo lĩnh vực"]
    assert "6 tháng đầu năm 2025" in book["Toàn thành phố"]["A1"].value
    city = [c.value for c in book["Toàn thành phố"][3]]
    assert city[:4] == ["city", "Toàn thành phố", 20, 13]  # all 20 fixture dossiers are in H1
    units = {row[0].value: row[2].value for row in book["Theo đơn vị"].iter_rows(min_row=3)}
    assert units == {"SYT": 14, "XA1": 6}

    response = client.get("/api/v1/reports/periodic", params={"year": 2025, "period": "Y", "format": "pdf"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    pdf_text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    pdf_text = unicodedata.normalize("NFC", re.sub(r"\s+", " ", pdf_text))
    assert "Báo cáo kết quả giải quyết thủ tục hành chính Cả năm 2025" in pdf_text
    assert "Theo lĩnh vực" in pdf_text and "UBND xã An Hưng" in pdf_text

    bad = client.get("/api/v1/reports/periodic", params={"year": 2025, "period": "Q5"})
    assert bad.status_code == 422 and bad.json()["field"] == "period"
