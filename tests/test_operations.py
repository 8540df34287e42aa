"""Operations: /readyz checks, Prometheus /metrics, request ids and JSON logs (both databases)."""

import json
import logging
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.dossiers.deadlines import DeadlineScan
from app.jobs.worker import Worker
from app.observability import readiness
from app.observability.logs import JsonFormatter, RequestIdFilter, request_id_var
from persistence.db import Database
from persistence.job_models import WorkerHeartbeat
from persistence.migrate import upgrade
from persistence.models import HumanTask
from tests.conftest import new_database
from tests.onestop import install_catalogue, procedures, receive, reception_body, units
from tests.processes import start_worker

MINUTE = timedelta(minutes=1)


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample, 0 when the series is absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = "^" + re.escape(name + (f"{{{wanted}}}" if wanted else "")) + r" (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


# --- readiness ------------------------------------------------------------------------------------

def test_readyz_wants_a_worker_heartbeat_when_this_process_runs_the_worker(services, anonymous):
    response = anonymous.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "not_ready" and body["failed"] == ["worker"]
    assert body["checks"]["database"]["status"] == "ok" and body["checks"]["migrations"]["status"] == "ok"

    assert Worker(services.db, []).beat()
    response = anonymous.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["worker"]["status"] == "ok"
    assert anonymous.get("/healthz").json() == {"status": "ok"}


def test_readyz_fails_when_the_newest_heartbeat_is_stale(services, anonymous):
    with services.db.transaction() as session:
        session.add(WorkerHeartbeat(worker_id="old-host:1", seen_at=datetime.now(UTC) - 10 * MINUTE))
    response = anonymous.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["status"] == "fail"
    assert response.json()["checks"]["worker"]["ageSeconds"] >= 599


def test_no_heartbeat_is_reported_but_tolerated_when_this_process_runs_no_worker(services):
    result = readiness.check(services.db, worker_enabled=False, max_heartbeat_age=MINUTE)
    assert result.ready and result.checks["worker"]["status"] == "not_seen"
    with services.db.transaction() as session:
        session.add(WorkerHeartbeat(worker_id="gone:1", seen_at=datetime.now(UTC) - 5 * MINUTE))
    result = readiness.check(services.db, worker_enabled=False, max_heartbeat_age=MINUTE)
    assert not result.ready and result.failed == ["worker"]


def test_heartbeat_is_throttled_and_updates_one_row(services):
    now = datetime.now(UTC)
    worker = Worker(services.db, [])
    assert worker.beat(now)
    assert not worker.beat(now + timedelta(seconds=1))
    assert worker.beat(now + MINUTE)
    with services.db.read() as session:
        rows = list(session.scalars(select(WorkerHeartbeat)))
    assert [(r.worker_id, r.seen_at) for r in rows] == [(worker.worker_id, now + MINUTE)]


def test_readiness_fails_on_a_schema_behind_the_head(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'behind.db'}")
    upgrade(db.engine, "0010")
    try:
        result = readiness.check(db, worker_enabled=False, max_heartbeat_age=MINUTE)
        assert not result.ready and result.failed == ["migrations"]
        assert result.checks["migrations"]["current"] == ["0010"]
        upgrade(db.engine)
        assert readiness.check(db, worker_enabled=False, max_heartbeat_age=MINUTE).ready
    finally:
        db.dispose()


def test_readiness_fails_when_the_database_does_not_answer():
    db = Database("postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2")
    try:
        result = readiness.check(db, worker_enabled=False, max_heartbeat_age=MINUTE)
    finally:
        db.dispose()
    assert not result.ready and result.failed == ["database"] and "migrations" not in result.checks


def test_a_real_worker_process_makes_the_service_ready_and_logs_json(services, anonymous, database_url, tmp_path):
    assert anonymous.get("/readyz").status_code == 503
    worker = start_worker(database_url, tmp_path, "ops", MOTCUA_LOG_FORMAT="json")
    try:
        deadline = time.monotonic() + 60
        while anonymous.get("/readyz").status_code != 200:
            assert worker.poll() is None, (tmp_path / "worker-ops.log").read_text()
            assert time.monotonic() < deadline, "the worker never reported a heartbeat"
            time.sleep(0.1)
    finally:
        worker.terminate()
        worker.wait(30)
    lines = [json.loads(line) for line in (tmp_path / "worker-ops.log").read_text().splitlines()
             if line.startswith("{")]
    started = [r for r in lines if r["logger"] == "motcua.worker" and "started" in r["message"]]
    assert started and started[0]["level"] == "INFO" and started[0]["requestId"] is None


# --- metrics ---------------------------------------------------------------------------------------

def test_request_latency_histogram_uses_route_templates(client):
    before = client.get("/metrics").text
    code = "HS-KHONG-CO-" + str(time.time_ns())
    assert client.get(f"/api/v1/dossiers/{code}").status_code == 404
    assert client.get(f"/no/such/{code}").status_code == 404
    text = client.get("/metrics").text
    route = {"method": "GET", "route": "/api/v1/dossiers/{code}", "status": "4xx"}
    assert (metric(text, "motcua_http_request_duration_seconds_count", **route)
            == metric(before, "motcua_http_request_duration_seconds_count", **route) + 1)
    assert metric(text, "motcua_http_request_duration_seconds_bucket", **route, le="+Inf") >= 1
    assert metric(text, "motcua_http_request_duration_seconds_count", method="GET", route="unmatched",
                  status="4xx") >= 1
    assert code not in text  # raw paths never become labels


def test_transitions_and_overdue_gauges(services, client):
    install_catalogue(services)
    procedure = next(p for p in procedures(client, level="department") if not p["mohCentralized"])
    unit = next(u["code"] for u in units(client, "division") if "Một cửa" in u["name"])
    before = client.get("/metrics").text
    late = receive(client, reception_body(procedure, unit, received_at=datetime.now(UTC) - timedelta(days=200)))
    receive(client, reception_body(procedure, unit, id_number="001203009999"))
    scan = next(s for s in services.worker.scans if isinstance(s, DeadlineScan))
    scan(datetime.now(UTC))
    with services.db.transaction() as session:  # a step of the late dossier ran out of time too
        task = session.scalars(select(HumanTask).where(HumanTask.process_instance_id == late["processInstanceId"],
                                                       HumanTask.status == "open")).first()
        task.overdue_at = task.overdue_at or datetime.now(UTC)
    text = client.get("/metrics").text
    assert (metric(text, "motcua_instance_transitions_total", status="running")
            >= metric(before, "motcua_instance_transitions_total", status="running") + 2)
    assert metric(text, "motcua_overdue_dossiers", unit=late["competentUnit"]) == 1
    with services.db.read() as session:
        open_overdue = session.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.status == "open", HumanTask.overdue_at.is_not(None)))
    assert open_overdue >= 1 and metric(text, "motcua_overdue_tasks") == open_overdue
    assert 'motcua_outbox_messages{topic=' in text


def test_metrics_need_credentials(anonymous):
    assert anonymous.get("/metrics").status_code == 401


# --- request ids and logs --------------------------------------------------------------------------

def test_request_id_is_echoed_or_generated(anonymous):
    given = anonymous.get("/healthz", headers={"X-Request-ID": "trace-42.a:b"})
    assert given.headers["x-request-id"] == "trace-42.a:b"
    made = anonymous.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    hostile = anonymous.get("/healthz", headers={"X-Request-ID": "x\" injected=1"})
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["x-request-id"])
    problem = anonymous.get("/api/v1/dossiers", headers={"X-Request-ID": "denied-1"})
    assert problem.status_code == 401 and problem.headers["x-request-id"] == "denied-1"


@pytest.mark.parametrize("formatter", [JsonFormatter(), logging.Formatter("[%(request_id)s] %(message)s")])
def test_log_records_carry_the_current_request_id(formatter):
    record = logging.LogRecord("motcua.test", logging.INFO, __file__, 1, "Đã tiếp nhận %s", ("HS-1",), None)
    token = request_id_var.set("req-7")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = formatter.format(record)
    if isinstance(formatter, JsonFormatter):
        body = json.loads(line)
        assert body["requestId"] == "req-7" and body["message"] == "Đã tiếp nhận HS-1" and body["level"] == "INFO"
    else:
        assert line == "[req-7] Đã tiếp nhận HS-1"


def test_fresh_database_is_ready_only_at_head(tmp_path):
    url = new_database("sqlite", tmp_path)
    db = Database(url)
    try:
        result = readiness.check(db, worker_enabled=False, max_heartbeat_age=MINUTE)
        assert result.ready and result.checks["migrations"]["status"] == "ok"
    finally:
        db.dispose()
