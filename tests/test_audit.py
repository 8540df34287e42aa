"""The hash-chained audit log: who/role/unit/what/before/after per command, tamper detection, no forks."""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, select, text, update

from app.security import audit
from app.security.roles import Role
from persistence.security_models import AuditEvent
from tests.onestop import install_catalogue, procedures, reception_body, units


def _rows(services) -> list[AuditEvent]:
    services.audit.chain()  # what the worker's pump does within a tick of every commit
    with services.db.read() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def test_every_command_is_recorded_with_who_role_unit_and_status(services, client, client_as):
    install_catalogue(services)
    unit = units(client, "commune")[0]["code"]
    clerk = client_as(Role.RECEPTION_CLERK, unit)
    received = clerk.post("/api/v1/dossiers", json=reception_body(procedures(client, level="commune")[0], unit))
    assert received.status_code == 201, received.text
    code = received.json()["code"]
    withdrawn = clerk.post(f"/api/v1/dossiers/{code}/actions/withdraw", json={})
    assert withdrawn.status_code == 200, withdrawn.text
    refused = clerk.post(f"/api/v1/dossiers/{code}/actions/refuse", json={"reason": "x"})  # invalid: rolled back
    assert refused.status_code == 422
    rows = [r for r in _rows(services) if r.role == Role.RECEPTION_CLERK]
    assert [r.action for r in rows] == ["POST /api/v1/dossiers", "POST /api/v1/dossiers/{code}/actions/{action}"]
    last = rows[-1]
    assert last.actor.startswith("apikey:") and last.unit_code == unit and last.target == f"dossier:{code}"
    assert last.data == {"code": code, "action": "withdraw"}
    assert (last.before_status, last.after_status) == (received.json()["status"], withdrawn.json()["status"])
    assert last.before_status != last.after_status


def test_verify_finds_an_edited_row(services, client):
    for day in ("2026-12-29", "2026-12-30", "2026-12-31"):
        assert client.post("/api/v1/calendar/overrides", json={"date": day, "kind": "day-off",
                                                               "reason": "Nghỉ thử nghiệm"}).status_code == 201
    verified = client.get("/api/v1/audit/verify").json()
    assert verified == {"ok": True, "checked": len(_rows(services)), "firstBadEventId": None}
    victim = _rows(services)[1]
    with services.db.transaction() as session:  # a write through the ORM would add its own audit row: use SQL
        session.connection().execute(update(AuditEvent).where(AuditEvent.id == victim.id).values(actor="ke_gian"))
    # That transaction appended a (valid) row of its own; the edited one is still found first.
    result = client.get("/api/v1/audit/verify").json()
    assert result == {"ok": False, "checked": 2, "firstBadEventId": victim.id}


def test_verify_finds_a_deleted_row(services, client):
    for day in ("2026-12-29", "2026-12-30", "2026-12-31"):
        client.post("/api/v1/calendar/overrides", json={"date": day, "kind": "day-off", "reason": "Nghỉ thử"})
    rows = _rows(services)
    with services.db.engine.begin() as conn:  # straight to the table, bypassing the services
        conn.execute(delete(AuditEvent).where(AuditEvent.id == rows[1].id))
    result = client.get("/api/v1/audit/verify").json()
    assert result["ok"] is False and result["firstBadEventId"] == rows[2].id


def test_cli_verify_exits_non_zero_on_tampering(services, client):
    client.post("/api/v1/calendar/overrides", json={"date": "2026-12-31", "kind": "day-off", "reason": "Nghỉ thử"})
    env = {**os.environ, "MOTCUA_DATABASE_URL": services.settings.database_url, "MOTCUA_JWT_SECRET": "x" * 40}
    command = [sys.executable, "-m", "app.cli", "audit", "verify"]
    assert subprocess.run(command, env=env, capture_output=True, text=True).returncode == 0
    with services.db.engine.begin() as conn:
        conn.execute(update(AuditEvent).values(after_status="forged"))
    broken = subprocess.run(command, env=env, capture_output=True, text=True)
    assert broken.returncode == 1 and "bị sửa" in broken.stdout


def test_concurrent_commands_never_fork_the_chain(services):
    def create(i: int) -> int:
        return services.accounts.create_api_key(f"song song {i}", Role.INTEGRATOR).id

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(create, range(40)))
    assert len(set(ids)) == 40
    rows = _rows(services)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert len({r.prev_hash for r in rows}) == len(rows)
    assert services.audit.verify() == {"ok": True, "checked": len(rows), "firstBadEventId": None}
    with services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 40


def test_a_transaction_that_changes_nothing_is_not_audited(services):
    with services.db.transaction():
        pass
    with services.db.transaction() as session:
        session.scalar(select(func.count()).select_from(AuditEvent))
    assert _rows(services) == []
    services.accounts.create_api_key("mot", Role.INTEGRATOR)
    assert len(_rows(services)) == 1


def test_rows_are_written_unchained_and_the_worker_links_them(services):
    services.accounts.create_api_key("mot", Role.INTEGRATOR)
    services.accounts.create_api_key("hai", Role.INTEGRATOR)
    with services.db.read() as session:
        pending = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    assert [(r.seq, r.prev_hash, r.hash) for r in pending] == [(None, None, None)] * 2
    assert services.audit.pump in services.worker.pumps
    assert services.audit.pump(datetime.now(UTC)) == 2
    with services.db.read() as session:
        rows = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    assert [r.seq for r in rows] == [1, 2] and rows[1].prev_hash == rows[0].hash
    assert services.audit.chain() == 0  # nothing left; linking twice changes nothing
    assert services.audit.verify() == {"ok": True, "checked": 2, "firstBadEventId": None}


def test_commands_do_not_queue_behind_the_chain(services):
    """While a chainer holds the chain's lock, commands still commit (they used to wait for it)."""
    if services.db.dialect != "postgresql":
        pytest.skip("SQLite writers are serial anyway; the chain lock is PostgreSQL's advisory lock")
    with services.db.engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": audit._PG_LOCK_KEY})
        try:  # were commands still waiting for the lock, the statement timeout would fail them
            ids = [services.accounts.create_api_key(f"khi khoa {i}", Role.INTEGRATOR).id for i in range(3)]
        finally:
            holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": audit._PG_LOCK_KEY})
            holder.commit()
    assert len(set(ids)) == 3
    assert services.audit.verify() == {"ok": True, "checked": 3, "firstBadEventId": None}
