"""The one-stop domain through REST: catalogue, units, reception, lifecycle paths, worklists, lookup."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import ADMIN_HEADERS
from tests.onestop import (
    act,
    advance_to,
    dossier,
    install_catalogue,
    open_tasks,
    procedures,
    receive,
    reception_body,
    units,
)

CODE = re.compile(r"^(?P<agency>[A-Z0-9.]+)-(?P<day>\d{6})-(?P<seq>\d{4,})$")


@pytest.fixture
def onestop(services, client):
    install_catalogue(services)
    return client


@pytest.fixture
def department_procedure(onestop) -> dict:
    return next(p for p in procedures(onestop, level="department") if not p["mohCentralized"])


@pytest.fixture
def commune_procedure(onestop) -> dict:
    return procedures(onestop, level="commune")[0]


@pytest.fixture
def moh_procedure(onestop) -> dict:
    return next(p for p in procedures(onestop) if p["mohCentralized"])


@pytest.fixture
def reception_unit(onestop) -> str:
    return next(u["code"] for u in units(onestop, "division") if "Một cửa" in u["name"])


@pytest.fixture
def communes(onestop) -> list[str]:
    return [u["code"] for u in units(onestop, "commune")]


# --- catalogue and units -------------------------------------------------------------------------

def test_catalogue_has_procedures_at_both_levels_with_their_diagrams(onestop):
    listed = procedures(onestop)
    assert len(listed) >= 8
    assert {p["level"] for p in listed} == {"commune", "department"}
    assert any(p["mohCentralized"] and p["mohCutover"] == "2026-01-01" for p in listed)
    keys = {d["key"] for d in onestop.get("/api/v1/process-definitions").json()}
    assert {p["diagramKey"] for p in listed} <= keys
    for p in listed:
        assert p["documents"] and all(d["code"] and d["name"] for d in p["documents"])


def test_accent_insensitive_search(onestop):
    found = procedures(onestop, q="chung chi hanh nghe")
    assert found and all("chứng chỉ hành nghề" in p["name"].lower() for p in found)
    assert procedures(onestop, q="CHỨNG CHỈ hành nghề") == found
    assert procedures(onestop, q="khong co thu tuc nao nhu the nay") == []


def test_get_procedure_and_unknown_code(onestop, department_procedure):
    got = onestop.get(f"/api/v1/procedures/{department_procedure['code']}").json()
    assert got == department_procedure
    missing = onestop.get("/api/v1/procedures/KHONG-CO")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_admin_creates_and_updates_a_procedure(onestop, department_procedure):
    body = {**department_procedure, "code": "MAU-TEST-01", "name": "Thủ tục thử nghiệm của quản trị"}
    created = onestop.post("/api/v1/procedures", json=body)
    assert created.status_code == 201, created.text
    again = onestop.post("/api/v1/procedures", json=body)
    assert again.status_code == 409
    updated = onestop.put("/api/v1/procedures/MAU-TEST-01", json={**body, "legalDays": 7})
    assert updated.status_code == 200 and updated.json()["legalDays"] == 7
    bad = onestop.post("/api/v1/procedures", json={**body, "code": "MAU-TEST-02", "documents": []})
    assert bad.status_code == 422 and bad.json()["field"] == "documents"
    assert onestop.get("/api/v1/procedures/MAU-TEST-02").status_code == 404


def test_units_of_hai_phong_after_july_2025(onestop):
    all_units = onestop.get("/api/v1/units").json()
    by_type: dict[str, int] = {}
    for unit in all_units:
        by_type[unit["type"]] = by_type.get(unit["type"], 0) + 1
    assert by_type["commune"] + by_type["ward"] + by_type["special-zone"] == 114
    assert by_type["special-zone"] == 2 and by_type["department"] == 1 and by_type["division"] >= 3
    assert len({u["code"] for u in all_units}) == len(all_units)
    found = onestop.get("/api/v1/units", params={"q": "bach long vi"}).json()
    assert [u["name"] for u in found] == ["Đặc khu Bạch Long Vĩ"]


# --- reception -----------------------------------------------------------------------------------

def test_reception_numbers_the_dossier_and_starts_its_instance(onestop, department_procedure, reception_unit):
    received = receive(onestop, reception_body(department_procedure, reception_unit))
    match = CODE.match(received["code"])
    assert match, received["code"]
    assert match["agency"] == department_procedure["competentUnit"]
    assert match["seq"] == "0001"
    assert received["status"] == "accepted" and received["statusCode"] == 2
    assert received["stage"] == "new"
    assert datetime.fromisoformat(received["appointmentAt"]) > datetime.fromisoformat(received["receivedAt"])
    instance = onestop.get(f"/api/v1/process-instances/{received['processInstanceId']}").json()
    assert instance["businessKey"] == received["code"]
    assert instance["variables"]["competent_unit"] == department_procedure["competentUnit"]
    assert [d["code"] for d in received["documents"]] == [d["code"] for d in department_procedure["documents"]
                                                          if d["required"]]
    tasks = open_tasks(onestop, received)
    assert tasks and all(t["dueAt"] for t in tasks)


def test_two_hundred_parallel_receptions_get_two_hundred_gapless_codes(onestop, department_procedure,
                                                                      reception_unit, server):
    body = reception_body(department_procedure, reception_unit)
    barrier = threading.Barrier(20)

    def post(i: int) -> httpx.Response:
        with httpx.Client(base_url=server.url, timeout=120, headers=ADMIN_HEADERS) as http:
            if i < 20:
                barrier.wait()
            return http.post("/api/v1/dossiers", json=body)

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(post, range(200)))
    assert [r.status_code for r in responses] == [201] * 200, {r.text for r in responses if r.status_code != 201}
    codes = [r.json()["code"] for r in responses]
    assert len(set(codes)) == 200
    sequences = sorted(int(CODE.match(c)["seq"]) for c in codes)
    assert sequences == list(range(1, 201))


@pytest.mark.parametrize(("change", "status", "field", "code"), [
    (lambda b: b.update(procedureCode="KHONG-CO"), 422, "procedureCode", "unknown_procedure"),
    (lambda b: b.update(receivingUnit="KHONG-CO"), 422, "receivingUnit", "unknown_unit"),
    (lambda b: b["documents"].append({"code": "giay_xac_nhan_vneid", "originals": 1}), 422, "documents.",
     "document_not_in_catalogue"),
    (lambda b: b["documents"].__setitem__(0, {**b["documents"][0], "originals": 0, "copies": 0}), 422,
     "documents.0", "document_without_copies"),
    (lambda b: b.update(channel="fax"), 422, "channel", "validation_error"),
    (lambda b: b["applicant"].update(idNumber="x"), 422, "applicant.idNumber", "validation_error"),
    (lambda b: b.update(receivedAt=(datetime.now(UTC) + timedelta(days=2)).isoformat()), 422, "receivedAt",
     "invalid_input"),
])
def test_bad_receptions_are_refused_and_store_nothing(onestop, department_procedure, reception_unit,
                                                      change, status, field, code):
    body = reception_body(department_procedure, reception_unit)
    change(body)
    response = onestop.post("/api/v1/dossiers", json=body)
    assert response.status_code == status, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["code"] == code
    assert (problem.get("field") or "").startswith(field)
    assert onestop.get("/api/v1/dossiers").json() == []
    assert onestop.get("/api/v1/process-instances").json() == []
    first = receive(onestop, reception_body(department_procedure, reception_unit))
    assert first["code"].endswith("-0001"), "a refused reception must not use up a number"


def test_missing_required_documents_are_listed_in_one_go(onestop, reception_unit):
    procedure = next(p for p in procedures(onestop, level="department")
                     if sum(d["required"] for d in p["documents"]) >= 3)
    body = reception_body(procedure, reception_unit)
    dropped = [body["documents"].pop(0)["code"], body["documents"].pop(0)["code"]]
    response = onestop.post("/api/v1/dossiers", json=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "incomplete_dossier" and problem["field"] == "documents"
    names = {d["code"]: d["name"] for d in procedure["documents"]}
    missing = [e["message"] for e in problem["errors"] if e["code"] == "missing_document"]
    assert len(missing) == 2 and all(any(names[c] in m for m in missing) for c in dropped)
    assert onestop.get("/api/v1/dossiers").json() == []


# --- lifecycle paths -----------------------------------------------------------------------------

def _complete_path(client: httpx.Client, code: str) -> dict:
    advance_to(client, code, "return")
    current = dossier(client, code)
    assert current["status"] == "finished" and current["statusCode"] == 9 and current["stage"] == "to_return"
    returned = act(client, code, "return-result", {"resultNumber": "123/GP-SYT", "electronic": True})
    assert returned["status"] == "returned" and returned["statusCode"] == 10 and returned["returnedAt"]
    instance = client.get(f"/api/v1/process-instances/{returned['processInstanceId']}").json()
    assert instance["status"] == "completed"
    return returned


def test_every_shipped_procedure_completes_through_rest(onestop, reception_unit, communes):
    for procedure in procedures(onestop):
        unit = reception_unit if procedure["level"] == "department" else communes[0]
        received = receive(onestop, reception_body(procedure, unit))
        returned = _complete_path(onestop, received["code"])
        assert returned["result"]["number"] == "123/GP-SYT", procedure["code"]


def test_supplement_loop(onestop, department_procedure, reception_unit):
    received = receive(onestop, reception_body(department_procedure, reception_unit))
    code = received["code"]
    advance_to(onestop, code, "appraisal")
    asked = act(onestop, code, "supplement-request", {"reason": "Thiếu chữ ký", "documents": ["Đơn đề nghị"]})
    assert asked["status"] == "supplement_requested" and asked["statusCode"] == 5 and asked["stage"] == "supplement"
    task = open_tasks(onestop, asked)[0]
    blocked = onestop.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {}})
    assert blocked.status_code == 409, "a dossier waiting for its supplement cannot move"
    second = act(onestop, code, "supplement-request", {"reason": "Lần hai", "documents": ["x"]}, expect=409)
    assert second["code"] in ("action_not_allowed", "supplement_limit_reached")
    back = act(onestop, code, "supplement-received", {"note": "Đã bổ sung"})
    assert back["status"] == "in_progress" and back["stage"] == "in_progress"
    assert back["appointmentAt"] >= received["appointmentAt"]
    again = act(onestop, code, "supplement-request", {"reason": "Lần hai", "documents": ["x"]}, expect=409)
    assert again["code"] == "supplement_limit_reached"
    _complete_path(onestop, code)


def test_refusal(onestop, department_procedure, reception_unit):
    code = receive(onestop, reception_body(department_procedure, reception_unit))["code"]
    advance_to(onestop, code, "appraisal")
    refused = act(onestop, code, "refuse", {"reason": "Không đủ điều kiện hành nghề"})
    assert refused["status"] == "refused" and refused["statusCode"] == 3 and refused["stopReason"]
    assert open_tasks(onestop, refused) == []
    instance = onestop.get(f"/api/v1/process-instances/{refused['processInstanceId']}").json()
    assert instance["status"] == "terminated"
    act(onestop, code, "withdraw", {}, expect=409)


def test_withdrawal_before_and_after_the_decision(onestop, department_procedure, reception_unit):
    early = receive(onestop, reception_body(department_procedure, reception_unit))["code"]
    withdrawn = act(onestop, early, "withdraw", {"reason": "Người nộp xin rút"})
    assert withdrawn["status"] == "withdrawn" and withdrawn["statusCode"] == 8
    history = onestop.get(f"/api/v1/process-instances/{withdrawn['processInstanceId']}/history").json()
    assert [h["type"] for h in history][-2:] == ["instance.terminated", "dossier.withdraw"]
    late = receive(onestop, reception_body(department_procedure, reception_unit))["code"]
    advance_to(onestop, late, "issue")
    assert act(onestop, late, "withdraw", {}, expect=409)["code"] == "already_decided"


def test_extension_once_with_apology(onestop, department_procedure, reception_unit):
    received = receive(onestop, reception_body(department_procedure, reception_unit))
    extended = act(onestop, received["code"], "extend", {"reason": "Cần xác minh văn bằng", "days": 5})
    assert extended["appointmentAt"] > received["appointmentAt"]
    assert extended["extension"]["previousAppointment"]
    assert act(onestop, received["code"], "extend", {"reason": "Lần hai", "days": 1}, expect=409)["code"] \
        == "extension_limit_reached"


def test_bad_actions(onestop, department_procedure, reception_unit):
    code = receive(onestop, reception_body(department_procedure, reception_unit))["code"]
    assert act(onestop, code, "explode", {}, expect=404)["code"] == "unknown_action"
    assert act(onestop, code, "refuse", {}, expect=422)["field"] == "reason"
    assert act(onestop, code, "return-result", {}, expect=409)["code"] == "action_not_allowed"
    assert act(onestop, "KHONG-CO", "withdraw", {}, expect=404)["code"] == "not_found"
    assert act(onestop, code, "supplement-received", {}, expect=409)["code"] == "action_not_allowed"


def test_boundary_free_reception_at_another_commune(onestop, commune_procedure, communes):
    receiving, competent = communes[0], communes[1]
    received = receive(onestop, reception_body(commune_procedure, receiving, competent_unit=competent))
    assert received["receivingUnit"] == receiving and received["competentUnit"] == competent
    assert received["code"].startswith(competent + "-")
    queue = onestop.get("/api/v1/dossiers", params={"unit": competent, "queue": "new"}).json()
    assert [d["code"] for d in queue] == [received["code"]]
    assert onestop.get("/api/v1/dossiers", params={"unit": receiving, "queue": "new"}).json() == []
    advance_to(onestop, received["code"], "return")
    to_return = onestop.get("/api/v1/dossiers", params={"unit": receiving, "queue": "to_return"}).json()
    assert [d["code"] for d in to_return] == [received["code"]]
    assert onestop.get("/api/v1/dossiers", params={"unit": competent, "queue": "to_return"}).json() == []
    tasks = open_tasks(onestop, received)
    assert tasks[0]["properties"]["motcua:unit"] == "receiving"


def test_ministry_procedure_before_and_after_the_cutover(onestop, moh_procedure, reception_unit):
    before = receive(onestop, reception_body(moh_procedure, reception_unit,
                                             received_at=datetime(2025, 12, 31, 9, 0, tzinfo=UTC)))
    assert before["mohRoute"] is False
    assert [t["properties"]["motcua:step"] for t in open_tasks(onestop, before)] == ["assign"]
    _complete_path(onestop, before["code"])

    after = receive(onestop, reception_body(moh_procedure, reception_unit))
    assert after["mohRoute"] is True
    assert after["currentStep"] == "ministry" and after["stage"] == "ministry" and after["statusCode"] == 4
    assert open_tasks(onestop, after) == []
    delivered = onestop.post("/api/v1/messages", json={"messageName": "moh_result", "businessKey": after["code"],
                                                       "variables": {"moh_decision": "GP-BYT-1"}})
    assert delivered.status_code == 200, delivered.text
    returned = _complete_path(onestop, after["code"])
    assert returned["status"] == "returned"


# --- worklists and public lookup -----------------------------------------------------------------

def test_worklist_queues_and_sorting(onestop, department_procedure, reception_unit):
    department = department_procedure["competentUnit"]
    old = receive(onestop, reception_body(department_procedure, reception_unit,
                                          received_at=datetime.now(UTC) - timedelta(days=120)))
    fresh = receive(onestop, reception_body(department_procedure, reception_unit))
    overdue = onestop.get("/api/v1/dossiers", params={"unit": department, "queue": "overdue"}).json()
    assert [d["code"] for d in overdue] == [old["code"]]
    new = onestop.get("/api/v1/dossiers", params={"unit": department, "queue": "new", "sort": "appointment"}).json()
    assert [d["code"] for d in new] == [old["code"], fresh["code"]]
    newest_first = onestop.get("/api/v1/dossiers", params={"queue": "new", "sort": "-appointment"}).json()
    assert [d["code"] for d in newest_first] == [fresh["code"], old["code"]]
    act(onestop, fresh["code"], "withdraw", {})
    counts = onestop.get("/api/v1/dossiers/queues", params={"unit": department}).json()
    assert counts["overdue"] == 1 and counts["new"] == 1 and counts["withdrawn"] == 1
    assert onestop.get("/api/v1/dossiers", params={"queue": "nonsense"}).status_code == 422
    heads = onestop.get("/api/v1/dossiers", params={"unit": department, "role": "division_head"}).json()
    assert [d["code"] for d in heads] == [old["code"]]
    advance_to(onestop, old["code"], "appraisal")
    assert onestop.get("/api/v1/dossiers", params={"unit": department, "role": "division_head"}).json() == []
    specialists = onestop.get("/api/v1/dossiers", params={"unit": department, "role": "specialist"}).json()
    assert [d["code"] for d in specialists] == [old["code"]]


def test_public_lookup_reveals_status_only_to_the_id_holder(onestop, department_procedure, reception_unit):
    received = receive(onestop, reception_body(department_procedure, reception_unit, id_number="031099001234"))
    found = onestop.get(f"/api/v1/public/dossiers/{received['code']}", params={"idNumber": "031099001234"})
    assert found.status_code == 200
    body = found.json()
    assert body["statusCode"] == 2 and body["appointmentAt"] == received["appointmentAt"]
    assert "applicant" not in body and "documents" not in body
    wrong = onestop.get(f"/api/v1/public/dossiers/{received['code']}", params={"idNumber": "031099009999"})
    assert wrong.status_code == 404
    unknown = onestop.get("/api/v1/public/dossiers/KHONG-CO", params={"idNumber": "031099001234"})
    assert unknown.status_code == 404 and unknown.json()["detail"] == wrong.json()["detail"]


def test_reused_documents_are_not_uploaded_again(onestop, department_procedure, reception_unit):
    body = reception_body(department_procedure, reception_unit, id_number="031099005555")
    body["documents"][0]["digitised"] = True
    first = receive(onestop, body)
    second_body = reception_body(department_procedure, reception_unit, id_number="031099005555")
    second_body["documents"][0] = {"code": body["documents"][0]["code"], "reuseFrom": first["code"]}
    second = receive(onestop, second_body)
    reused = second["documents"][0]
    assert reused["reused"] and reused["digitised"] and reused["reusedFrom"] == first["code"]
    stranger = reception_body(department_procedure, reception_unit, id_number="031099006666")
    stranger["documents"][0] = {"code": body["documents"][0]["code"], "reuseFrom": first["code"]}
    refused = onestop.post("/api/v1/dossiers", json=stranger)
    assert refused.status_code == 422 and refused.json()["code"] == "nothing_to_reuse"


def test_scans_are_stored_by_content_and_checked_by_type(onestop, department_procedure, reception_unit, tmp_path):
    received = receive(onestop, reception_body(department_procedure, reception_unit))
    doc = received["documents"][0]["code"]
    url = f"/api/v1/dossiers/{received['code']}/documents/{doc}/file"
    pdf = b"%PDF-1.4\n% motcua test scan\n%%EOF\n"
    stored = onestop.put(url, files={"file": ("../../etc/passwd.pdf", pdf, "application/pdf")})
    assert stored.status_code == 200, stored.text
    body = stored.json()
    assert body["digitised"] and body["contentType"] == "application/pdf" and body["sizeBytes"] == len(pdf)
    assert body["fileName"] == "../../etc/passwd.pdf"  # kept as data; the disk path is the content hash
    download = onestop.get(url)
    assert download.status_code == 200 and download.content == pdf
    exe = onestop.put(url, files={"file": ("scan.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")})
    assert exe.status_code == 422 and exe.json()["code"] == "forbidden_file_type"
    missing = onestop.put(f"/api/v1/dossiers/{received['code']}/documents/khong_co/file",
                          files={"file": ("a.pdf", pdf, "application/pdf")})
    assert missing.status_code == 404
    assert onestop.get(url).content == pdf, "a refused upload changes nothing"


def test_every_shipped_procedure_along_every_path(onestop, reception_unit, communes):
    """Supplement loop, refusal and withdrawal for every procedure; boundary-free reception for every
    commune procedure; the Ministry path before and after the cutover for every centralized one."""
    for procedure in procedures(onestop):
        unit = reception_unit if procedure["level"] == "department" else communes[0]
        before_cutover = datetime(2025, 12, 31, 9, 0, tzinfo=UTC) if procedure["mohCentralized"] else None

        looped = receive(onestop, reception_body(procedure, unit, received_at=before_cutover))["code"]
        advance_to(onestop, looped, "appraisal")
        act(onestop, looped, "supplement-request", {"reason": "Bổ sung bản sao", "documents": ["Bản sao"]})
        act(onestop, looped, "supplement-received", {})
        assert _complete_path(onestop, looped)["supplementCount"] == 1, procedure["code"]

        refused = receive(onestop, reception_body(procedure, unit, received_at=before_cutover))["code"]
        assert act(onestop, refused, "refuse", {"reason": "Không đủ điều kiện"})["statusCode"] == 3

        withdrawn = receive(onestop, reception_body(procedure, unit, received_at=before_cutover))["code"]
        assert act(onestop, withdrawn, "withdraw", {})["statusCode"] == 8

        if procedure["level"] == "commune":
            away = receive(onestop, reception_body(procedure, communes[2], competent_unit=communes[3]))
            assert away["competentUnit"] == communes[3]
            advance_to(onestop, away["code"], "return")
            queue = onestop.get("/api/v1/dossiers", params={"unit": communes[2], "queue": "to_return"}).json()
            assert away["code"] in [d["code"] for d in queue], procedure["code"]
            _complete_path(onestop, away["code"])
        if procedure["mohCentralized"]:
            after = receive(onestop, reception_body(procedure, unit))
            assert after["mohRoute"] and after["stage"] == "ministry", procedure["code"]
            assert _complete_path(onestop, after["code"])["status"] == "returned"


def test_transfer_between_communes_and_consultation(onestop, commune_procedure, communes, department_procedure,
                                                   reception_unit):
    received = receive(onestop, reception_body(commune_procedure, communes[0]))
    moved = act(onestop, received["code"], "transfer", {"toUnit": communes[5], "reason": "Đúng địa bàn cơ sở"})
    assert moved["competentUnit"] == communes[5] and moved["code"] == received["code"]
    assert moved["transfers"][0]["from"] == communes[0] and moved["transfers"][0]["countsFrom"]
    queue = onestop.get("/api/v1/dossiers", params={"unit": communes[5], "queue": "new"}).json()
    assert [d["code"] for d in queue] == [received["code"]]
    wrong = act(onestop, received["code"], "transfer", {"toUnit": reception_unit, "reason": "Sai cấp"}, expect=422)
    assert wrong["code"] == "wrong_level"

    asked = act(onestop, received["code"], "consult", {"unit": reception_unit, "question": "Xin ý kiến", "days": 3})
    assert asked["consultations"][0]["dueAt"] and asked["consultations"][0]["answer"] is None
    answered = act(onestop, received["code"], "consult-answered", {"consultation": 1, "answer": "Đồng ý"})
    assert answered["consultations"][0]["answer"] == "Đồng ý"
    again = act(onestop, received["code"], "consult-answered", {"consultation": 1, "answer": "x"}, expect=409)
    assert again["code"] == "already_answered"
    assert act(onestop, received["code"], "consult-answered", {"consultation": 9, "answer": "x"},
               expect=422)["field"] == "consultation"
    _complete_path(onestop, received["code"])
