"""Outbox dispatchers as real processes (`motcua outbox deliver`): killed with SIGKILL mid-delivery and
restarted, nothing is lost and the receiver, deduplicating by key, has every message once and in order."""

import os
import signal
import subprocess
import sys
import time

import httpx
from sqlalchemy import func, select

from app.integrations.simulators import Faults, create_simulator
from persistence.integration_models import OutboxMessage
from tests.conftest import ROOT, LiveServer
from tests.onestop import act, install_catalogue, procedures, receive, reception_body, units


def start_dispatcher(database_url: str, receiver: str) -> subprocess.Popen:
    env = {**os.environ, "MOTCUA_DATABASE_URL": database_url, "MOTCUA_DVCQG_BASE_URL": receiver,
           "MOTCUA_OUTBOX_BASE_DELAY_SECONDS": "0", "MOTCUA_OUTBOX_MAX_ATTEMPTS": "1000",
           "MOTCUA_OUTBOX_BATCH_SIZE": "5"}
    return subprocess.Popen([sys.executable, "-m", "app.cli", "outbox", "deliver", "--interval", "0.05"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def pending(services) -> int:
    with services.db.read() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.topic == "dvcqg", OutboxMessage.status != "delivered"))


def test_sigkilled_dispatchers_lose_nothing_and_keep_order(services, client, database_url):
    install_catalogue(services)
    counter = next(u["code"] for u in units(client, "division") if "Một cửa" in u["name"])
    procedure = next(p for p in procedures(client, level="department") if not p["mohCentralized"])
    codes = []
    for _ in range(8):
        code = receive(client, reception_body(procedure, counter))["code"]
        act(client, code, "supplement-request", {"reason": "Thiếu giấy tờ", "documents": ["Bản sao"]})
        act(client, code, "supplement-received", {})
        act(client, code, "withdraw", {"reason": "Công dân rút hồ sơ"})
        codes.append(code)
    at_least = len(codes) * 4  # received, two supplement steps, withdrawal (plus engine steps)
    with LiveServer(app=create_simulator("dvcqg", Faults(fail_rate=0.1, slow_ms=40, seed=11))) as sim:
        kills = 0
        for _ in range(3):
            before = pending(services)
            if not before:
                break
            workers = [start_dispatcher(database_url, sim.url) for _ in range(2)]
            started = time.monotonic()  # kill only once they are delivering (start-up is slow on a busy machine)
            while pending(services) == before and time.monotonic() - started < 60:
                time.sleep(0.05)
            time.sleep(0.3)
            for worker in workers:
                worker.send_signal(signal.SIGKILL)
                worker.wait(10)
            kills += 1
        finisher = start_dispatcher(database_url, sim.url)
        deadline = time.monotonic() + 120
        while pending(services) and time.monotonic() < deadline:
            time.sleep(0.2)
        finisher.send_signal(signal.SIGTERM)
        finisher.wait(10)
        assert pending(services) == 0
        got = httpx.get(f"{sim.url}/_control/received").json()
    with services.db.read() as session:
        rows = list(session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "dvcqg")))
    assert len(rows) >= at_least
    keys = [m["key"] for m in got["messages"]]
    assert sorted(keys) == sorted(r.idempotency_key for r in rows)
    for code in codes:
        sequence = [int(k.rsplit(":", 1)[1]) for k in keys if k.startswith(f"dvcqg:{code}:")]
        assert sequence == list(range(1, len(sequence) + 1)), code
    assert kills >= 1
