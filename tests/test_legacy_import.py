"""`motcua import dossiers`: CSV (with a column mapping) and JSON Lines samples of the two former systems;
finished dossiers become history with their results, in-flight ones wait at their step of the current
diagram with their original received and appointment times; a second run imports nothing twice; bad rows
are refused one by one with a reason, and a dry run writes nothing."""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app.legacy.importer import LegacyImporter
from app.legacy.parallel import import_in_processes
from app.legacy.rows import Mapping, read_rows
from persistence.dossier_models import Dossier, DossierSequence
from persistence.models import HumanTask
from tests.conftest import ROOT
from tests.onestop import COUNTER_CLERK, install_catalogue, procedures, units

MAPPING = """\
# Hải Dương's export: Vietnamese column names, its own state words
columns:
  legacy_id: ma_ho_so
  legacy_code: so_bien_nhan
  procedure_code: ma_thu_tuc
  receiving_unit: noi_tiep_nhan
  applicant_id_number: so_cccd
  applicant_name: ho_ten
  received_at: ngay_nhan
  appointment_at: ngay_hen
  state: trang_thai
  step: buoc
  finished_at: ngay_tra
  result_number: so_ket_qua
defaults:
  source_system: hai_duong
states:
  finished: [DA_TRA]
  in_progress: [DANG_XU_LY]
"""


def _setup(services, client):
    install_catalogue(services)
    counter = next(u["code"] for u in units(client, "division") if "Một cửa" in u["name"])
    procedure = next(p for p in procedures(client, level="department") if not p["mohCentralized"])
    return counter, procedure["code"]


def _csv(path, counter, procedure):
    header = ("ma_ho_so,so_bien_nhan,ma_thu_tuc,noi_tiep_nhan,so_cccd,ho_ten,ngay_nhan,ngay_hen,trang_thai,buoc,"
              "ngay_tra,so_ket_qua")
    common = f"{procedure},{counter}"
    rows = [
        f"HD-1,000.00.30.H23-250305-0001,{common},030201001234,Trần Văn Bình,2025-03-05T08:30:00+07:00,,DA_TRA,,"
        "2025-03-20T10:00:00+07:00,15/GP-SYT",
        f"HD-2,000.00.30.H23-251120-0007,{common},030201005678,Lê Thị Cúc,2025-11-20T09:00:00+07:00,"
        "2025-12-30T17:00:00+07:00,DANG_XU_LY,appraisal,,",
        f"HD-3,x,{common},030201009999,Phạm Văn Dũng,2025-11-21T09:00:00+07:00,,KHONG_RO,,,",
        f"HD-4,x,KHONG_CO,{counter},030201000001,Vũ Thị Én,2025-11-21T09:00:00+07:00,,DANG_XU_LY,appraisal,,",
        f"HD-5,x,{common},030201000002,Đỗ Văn Giang,21/11/2025,,DANG_XU_LY,appraisal,,",
        f"HD-6,x,{common},030201000003,Hồ Thị Hạnh,2025-11-21T09:00:00+07:00,,DANG_XU_LY,buoc_khong_co,,",
    ]
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")


def _jsonl(path, counter, procedure):
    rows = [
        {"legacy_id": "HP-1", "source_system": "hai_phong", "procedure_code": procedure, "receiving_unit": counter,
         "applicant_id_number": "031201001111", "applicant_name": "Nguyễn Văn An",
         "received_at": "2025-10-01T14:00:00+07:00", "state": "in_progress", "step": "approval"},
        {"legacy_id": "HP-2", "source_system": "hai_phong", "procedure_code": procedure, "receiving_unit": counter,
         "applicant_id_number": "031201002222", "applicant_name": "Bùi Thị Lan",
         "received_at": "2025-09-01T08:00:00+07:00", "state": "finished",
         "finished_at": "2025-09-15T16:00:00+07:00", "result_number": "99/GP-SYT"},
        {"legacy_id": "HP-3", "procedure_code": procedure},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\nnot json\n", encoding="utf-8")


def _run(services, path, mapping=None, dry_run=False):
    importer = LegacyImporter(services.reception, services.inbound)
    return [importer.import_row(line, raw, mapping or Mapping(), dry_run=dry_run) for line, raw in read_rows(path)]


def _count(services) -> int:
    with services.db.read() as session:
        return session.scalar(select(func.count()).select_from(Dossier))


def test_csv_with_mapping_imports_history_and_in_flight_and_refuses_bad_rows(services, client, tmp_path):
    counter, procedure = _setup(services, client)
    sample, mapping_file = tmp_path / "haiduong.csv", tmp_path / "mapping.yaml"
    _csv(sample, counter, procedure)
    mapping_file.write_text(MAPPING, encoding="utf-8")
    mapping = Mapping.load(mapping_file)

    dry = _run(services, sample, mapping, dry_run=True)
    assert [o.result for o in dry] == ["imported", "imported", "refused", "refused", "refused", "refused"]
    assert _count(services) == 0  # a dry run writes nothing

    outcomes = _run(services, sample, mapping)
    assert [(o.line, o.result, o.code if o.result == "refused" else None) for o in outcomes] == [
        (2, "imported", None), (3, "imported", None), (4, "refused", "unknown_state"),
        (5, "refused", "unknown_procedure"), (6, "refused", "invalid_row"), (7, "refused", "step_not_reached")]
    assert all(o.reason for o in outcomes if o.result == "refused")
    finished, in_flight = (client.get(f"/api/v1/dossiers/{o.code}").json() for o in outcomes[:2])
    assert finished["status"] == "returned" and finished["result"]["number"] == "15/GP-SYT"
    assert finished["code"].endswith("-250305-0001")  # numbered on its original day
    assert finished["result"]["legacy"] == {"id": "HD-1", "system": "hai_duong", "code": "000.00.30.H23-250305-0001"}
    assert in_flight["currentStep"] == "appraisal" and in_flight["status"] in ("accepted", "in_progress")
    assert datetime.fromisoformat(in_flight["receivedAt"]) == datetime(2025, 11, 20, 2, 0, tzinfo=UTC)
    assert datetime.fromisoformat(in_flight["appointmentAt"]) == datetime(2025, 12, 30, 10, 0, tzinfo=UTC)
    with services.db.read() as session:
        open_steps = [t.properties.get("motcua:step") for t in session.scalars(
            select(HumanTask).where(HumanTask.process_instance_id == in_flight["processInstanceId"],
                                    HumanTask.status == "open"))]
    assert open_steps == ["appraisal"]

    again = _run(services, sample, mapping)  # idempotent: nothing twice
    assert [o.result for o in again][:2] == ["skipped", "skipped"] and _count(services) == 2
    assert [o.code for o in again[:2]] == [o.code for o in outcomes[:2]]

    sample.write_text(sample.read_text(encoding="utf-8").replace("Trần Văn Bình", "Trần Văn Bính"), encoding="utf-8")
    changed = _run(services, sample, mapping)  # the same legacy id with other content is not silently skipped
    assert (changed[0].result, changed[0].code) == ("refused", "idempotency_key_reused")
    assert _count(services) == 2


def test_jsonl_through_the_command_line_is_resumable(services, client, tmp_path, database_url):
    counter, procedure = _setup(services, client)
    sample = tmp_path / "haiphong.jsonl"
    _jsonl(sample, counter, procedure)
    env = {**os.environ, "MOTCUA_DATABASE_URL": database_url}

    def run(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "app.cli", "import", "dossiers", str(sample), *extra,
                               "--report", str(tmp_path / "report.csv")], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)

    first = run()
    assert first.returncode == 1, first.stdout + first.stderr  # some rows refused
    report = (tmp_path / "report.csv").read_text(encoding="utf-8").splitlines()
    assert report[0] == "line,legacy_id,result,code,reason"
    assert [r.split(",")[2] for r in report[1:]] == ["imported", "imported", "refused", "refused"]
    assert "missing_field" in report[3] and "invalid_json" in report[4]
    assert _count(services) == 2
    second = run("--jobs", "2")  # two processes on PostgreSQL; SQLite keeps one
    assert [r.split(",")[2] for r in (tmp_path / "report.csv").read_text().splitlines()[1:3]] == ["skipped"] * 2
    assert _count(services) == 2, second.stdout
    with services.db.read() as session:
        approval = session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.status == "open"))
    assert approval == 1


def _finished_row(legacy_id, procedure, counter, received, **extra):
    return {"legacy_id": legacy_id, "source_system": "hai_duong", "procedure_code": procedure,
            "receiving_unit": counter, "applicant_id_number": "030201001234", "applicant_name": "Trần Văn Bình",
            "received_at": received, "appointment_at": "2025-03-25T17:00:00+07:00", "state": "finished",
            "finished_at": "2025-03-20T10:00:00+07:00", "result_number": "15/GP-SYT", **extra}


def _import_one_by_one(services, row) -> str:
    """The importer as it was (reception, then the instance terminated and the dossier closed as history, in
    one transaction per row): the reference the bulk path must match."""
    from app.dossiers.status import DVCQG_CODE, Status
    from app.legacy.rows import moment, reception_request
    from persistence.dossier_models import Procedure

    row = Mapping().row(row)
    with services.instances.command() as session:
        request = reception_request(row, session.get(Procedure, row["procedure_code"]), moment(row, "received_at"))
        view = services.reception.receive_in(session, request, "import")
        dossier = session.get(Dossier, view.code)
        dossier.appointment_at = moment(row, "appointment_at")
        finished_at = moment(row, "finished_at")
        services.instances.terminate_in(session, dossier.process_instance_id, reason="legacy", actor="import")
        dossier.status, dossier.status_code = Status.RETURNED.value, DVCQG_CODE[Status.RETURNED]
        dossier.stage, dossier.current_step = "done", None  # the worklist stage of a returned dossier
        dossier.finished_at = dossier.returned_at = finished_at
        dossier.result = {"legacy": {"id": row["legacy_id"], "system": row["source_system"], "code": None},
                          "number": row["result_number"], "note": None, "returnedAt": finished_at.isoformat(),
                          "returnedBy": "import"}
        return view.code


def test_finished_rows_in_bulk_read_as_the_row_by_row_import_did(services, client, tmp_path):
    counter, procedure = _setup(services, client)
    reference = _import_one_by_one(services, _finished_row("OLD-1", procedure, counter, "2025-03-05T08:30:00+07:00"))
    sample = tmp_path / "bulk.jsonl"
    sample.write_text(json.dumps(_finished_row("HD-1", procedure, counter, "2025-03-05T09:30:00+07:00")) + "\n",
                      encoding="utf-8")
    [outcome] = _run(services, sample)
    assert outcome.result == "imported" and outcome.code.endswith("-250305-0002")  # after the reference's 0001

    def read(code: str, path: str) -> dict:
        response = client.get(path.format(code=code))
        assert response.status_code == 200, response.text
        body = response.json()
        # what differs by nature: the code and instance, when written, the legacy id, the received minute
        for name in ("code", "processInstanceId", "updatedAt", "receivedAt", "clockStartedAt", "result",
                     "history", "revision"):
            body.pop(name, None)
        return body

    for path in ("/api/v1/dossiers/{code}", "/api/v1/public/dossiers/{code}?idNumber=030201001234"):
        assert read(outcome.code, path) == read(reference, path)
    with services.db.read() as session:
        old, new = session.get(Dossier, reference), session.get(Dossier, outcome.code)
        same = ("status", "status_code", "stage", "current_step", "finished_at", "returned_at", "appointment_at",
                "channel", "applicant", "receiving_unit", "competent_unit", "fee_total", "fee_paid", "moh_route",
                "supplement_count", "extension_count", "overdue_at", "stopped_at")
        assert {n: getattr(new, n) for n in same} == {n: getattr(old, n) for n in same}
        assert new.result["number"] == old.result["number"] and new.result["legacy"]["id"] == "HD-1"
        assert new.stage == "done"  # one of STAGES, so no worklist queue shows it as open work
    rows = client.get("/api/v1/reports/service-quality",
                      params={"from": "2025-03-01", "to": "2025-03-31", "groupBy": "unit"}).json()["rows"]
    assert sum(r["received"] for r in rows) == 2 and sum(r["finished"] for r in rows) == 2
    svg = client.get(f"/api/v1/dossiers/{outcome.code}")  # the instance's diagram comes from its history
    instance = svg.json()["processInstanceId"]
    assert client.get(f"/api/v1/process-instances/{instance}/diagram.svg").status_code == 200


def test_a_batch_that_fails_unexpectedly_is_retried_row_by_row(services, client, tmp_path):
    counter, procedure = _setup(services, client)
    clashing = _finished_row("HD-1", procedure, counter, "2025-03-05T08:30:00+07:00")
    fine = _finished_row("HD-2", procedure, counter, "2025-03-06T08:30:00+07:00")
    # A dossier a former tool numbered without the counter: its code clashes, and no check can see it coming.
    taken = _import_one_by_one(services, clashing | {"legacy_id": "X"})
    agency = taken.rsplit("-", 2)[0]
    with services.db.transaction() as session:
        session.execute(update(DossierSequence).values(last_value=0))
    sample = tmp_path / "clash.jsonl"
    sample.write_text("\n".join(json.dumps(r) for r in (fine, clashing)) + "\n", encoding="utf-8")
    outcomes = _run(services, sample)
    assert [(o.legacy_id, o.result, o.code if o.result == "refused" else "") for o in outcomes] == [
        ("HD-2", "imported", ""), ("HD-1", "refused", "import_failed")]
    assert outcomes[0].code == f"{agency}-250306-0001" and _count(services) == 2
    with services.db.read() as session:  # the refused row gave its number back
        assert session.get(DossierSequence, (agency, "250305")).last_value == 0


def test_a_legacy_id_repeated_in_one_file_is_imported_once(services, client, tmp_path):
    counter, procedure = _setup(services, client)
    row = _finished_row("HD-1", procedure, counter, "2025-03-05T08:30:00+07:00")
    sample = tmp_path / "twice.jsonl"
    sample.write_text("\n".join(json.dumps(r) for r in (row, row, row | {"result_number": "16/GP-SYT"})) + "\n",
                      encoding="utf-8")
    outcomes = _run(services, sample)
    assert [(o.result, o.code if o.result == "refused" else None) for o in outcomes] == [
        ("imported", None), ("skipped", None), ("refused", "idempotency_key_reused")]
    assert outcomes[0].code == outcomes[1].code and _count(services) == 1


def test_codes_stay_gapless_beside_counter_receptions_and_across_batches(services, client, tmp_path):
    counter, procedure = _setup(services, client)
    today = datetime.now(UTC).replace(microsecond=0)
    rows = [_finished_row(f"HD-{i}", procedure, counter, (today - timedelta(minutes=30 - i)).isoformat(),
                          appointment_at=today.isoformat(), finished_at=today.isoformat()) for i in range(12)]
    rows[5] = rows[5] | {"state": "in_progress", "step": "appraisal"}
    rows[7] = rows[7] | {"received_at": "not a time"}  # refused: takes no number
    sample = tmp_path / "today.jsonl"
    sample.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    body = {"procedureCode": procedure, "channel": "counter", "receivingUnit": counter,
            "applicant": {"type": "citizen", "idNumber": "001203004567", "name": "Nguyễn Văn An"},
            "documents": [{"code": d["code"], "originals": d["originals"] or 1, "copies": d["copies"]}
                          for d in client.get(f"/api/v1/procedures/{procedure}").json()["documents"] if d["required"]]}
    with ThreadPoolExecutor(2) as pool:
        counter_codes = pool.submit(lambda: [client.post("/api/v1/dossiers", json=body, headers=COUNTER_CLERK)
                                             for _ in range(4)])
        importer = LegacyImporter(services.reception, services.inbound)
        outcomes = importer.import_rows(read_rows(sample), Mapping(), batch_size=5)
        responses = counter_codes.result()
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    imported = [o.code for o in outcomes if o.result == "imported"]
    assert len(imported) == 11 and [o.result for o in outcomes].count("refused") == 1
    numbers = sorted(int(code.rsplit("-", 1)[1]) for code in imported + [r.json()["code"] for r in responses])
    assert numbers == list(range(1, 16))


def test_several_processes_import_one_file_as_one_process_would(services, client, tmp_path):
    if services.db.dialect != "postgresql":
        pytest.skip("several importing processes are for PostgreSQL; SQLite has one writer at a time")
    counter, procedure = _setup(services, client)
    start = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # the rows fall on the same few days in both shares
    rows = []
    for i in range(40):
        received = (start + timedelta(hours=2 * (i % 12), days=i % 3)).isoformat()
        if i % 3:
            rows.append(_finished_row(f"HD-{i}", procedure, counter, received))
        else:
            rows.append(_finished_row(f"HD-{i}", procedure, counter, received) | {
                "state": "in_progress", "step": "appraisal", "finished_at": None, "result_number": None})
    rows[31] = rows[4]  # the same legacy dossier in each half of the file
    sample = tmp_path / "halves.jsonl"
    sample.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")

    outcomes = import_in_processes(services.settings, list(read_rows(sample)), Mapping(), jobs=2)
    assert [o.line for o in outcomes] == list(range(1, 41))
    first, repeat = outcomes[4], outcomes[31]
    assert sorted((first.result, repeat.result)) == ["imported", "skipped"] and first.code == repeat.code
    assert sum(o.result == "imported" for o in outcomes) == 39 == _count(services)
    by_day: dict[str, list[int]] = {}
    for outcome in outcomes:
        agency_day, number = outcome.code.rsplit("-", 1)
        by_day.setdefault(agency_day, []).append(int(number))
    assert all(sorted(set(numbers)) == list(range(1, len(set(numbers)) + 1)) for numbers in by_day.values())
    with services.db.read() as session:
        open_appraisals = session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.status == "open"))
    assert open_appraisals == 14  # rows 0, 3, …, 39 in flight

    again = import_in_processes(services.settings, list(read_rows(sample)), Mapping(), jobs=3)
    assert {o.result for o in again} == {"skipped"} and [o.code for o in again] == [o.code for o in outcomes]
