"""`motcua serve` and `motcua worker` SIGKILLed at random moments under a load of receptions and task
completions on PostgreSQL: every acknowledged request is in the database exactly once, no instance is left
half-advanced, and the outbox drains afterwards."""

import random
import threading
import time
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from app.integrations.simulators import create_simulator
from persistence.dossier_models import Dossier
from persistence.integration_models import OutboxMessage
from persistence.job_models import Job
from persistence.models import Event, HumanTask
from tests.conftest import LiveServer
from tests.onestop import COUNTER_CLERK, install_catalogue, reception_body
from tests.processes import ServerProcess, half_advanced, start_worker

pytestmark = pytest.mark.slow
KEY = "mc_crash_" + uuid.uuid4().hex
KILLS = 3


@pytest.fixture
def pg_services(pg_services):
    install_catalogue(pg_services)
    return pg_services


class Load:
    """Threads sending receptions and completions with Idempotency-Keys; what was acknowledged is recorded."""

    def __init__(self, url: str, body: dict) -> None:
        self.url, self.body = url, body
        self.lock = threading.Lock()
        self.receptions: dict[str, str | None] = {}  # idempotency key → dossier code once acknowledged
        self.completions: dict[str, tuple[str, str | None]] = {}  # task id → (key, status once answered)
        self.codes: list[str] = []
        self.stop = threading.Event()
        self.errors: list[str] = []

    def run(self, seed: int) -> None:
        rng = random.Random(seed)
        pending: str | None = None  # a reception without an answer is retried with its key, as a client would
        with httpx.Client(base_url=self.url, timeout=10, headers={"X-API-Key": KEY, **COUNTER_CLERK}) as http:
            while not self.stop.is_set():
                try:
                    if pending is not None or rng.random() < 0.5 or not self.codes:
                        pending = pending or self.new_reception()
                        self.record_reception(pending, http.post("/api/v1/dossiers", json=self.body,
                                                                 headers={"Idempotency-Key": pending}))
                        pending = None
                    else:
                        self.complete(http, rng.choice(self.codes))
                except httpx.TransportError:
                    time.sleep(0.1)  # the server is down

    def wait_for_progress(self, at_least: int = 3, timeout: float = 30) -> None:
        start = len(self.codes) + sum(1 for _, status in self.completions.values() if status == "200")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = len(self.codes) + sum(1 for _, status in self.completions.values() if status == "200")
            if done >= start + at_least:
                return
            time.sleep(0.05)
        raise AssertionError(f"no progress in {timeout} s: {self.errors[:3]}")

    def new_reception(self) -> str:
        key = uuid.uuid4().hex
        with self.lock:
            self.receptions[key] = None
        return key

    def record_reception(self, key: str, response: httpx.Response) -> None:
        if response.status_code != 201:
            self.errors.append(f"reception {response.status_code}: {response.text[:300]}")
            return
        with self.lock:
            self.receptions[key] = response.json()["code"]
            self.codes.append(response.json()["code"])

    def complete(self, http: httpx.Client, code: str) -> None:
        dossier = http.get(f"/api/v1/dossiers/{code}").json()
        tasks = http.get("/api/v1/tasks", params={"processInstanceId": dossier["processInstanceId"]}).json()
        with self.lock:
            fresh = [t["id"] for t in tasks if t["id"] not in self.completions]
            if not fresh:
                return
            key = uuid.uuid4().hex
            self.completions[fresh[0]] = (key, None)
        self.send_completion(http, fresh[0], key)

    def send_completion(self, http: httpx.Client, task_id: str, key: str) -> None:
        response = http.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": {"appraisal_note": "Đạt"}},
                             headers={"Idempotency-Key": key})
        if response.status_code != 200:
            self.errors.append(f"completion {response.status_code}: {response.text[:300]}")
        with self.lock:
            self.completions[task_id] = (key, str(response.status_code))


def test_sigkilled_server_and_worker_lose_and_double_nothing(pg_services, tmp_path):
    services = pg_services
    url = services.settings.database_url
    rng = random.Random()
    t0 = time.monotonic()
    def mark(what):
        print(f"{time.monotonic() - t0:6.1f}s {what}", flush=True)
    with LiveServer(app=create_simulator("dvcqg")) as dvcqg:
        worker_env = {"MOTCUA_DVCQG_BASE_URL": dvcqg.url, "MOTCUA_OUTBOX_BASE_DELAY_SECONDS": "0"}
        server = ServerProcess(url, tmp_path, KEY)
        server.start()
        with httpx.Client(base_url=server.url, headers={"X-API-Key": KEY}) as admin:
            counter = next(u["code"] for u in admin.get("/api/v1/units", params={"type": "division"}).json()
                           if "Một cửa" in u["name"])
            procedure = next(p for p in admin.get("/api/v1/procedures", params={"level": "department"}).json()
                             if not p["mohCentralized"])
        load = Load(server.url, reception_body(procedure, counter))
        threads = [threading.Thread(target=load.run, args=(seed,)) for seed in range(4)]
        worker = start_worker(url, tmp_path, "0", **worker_env)
        try:
            for thread in threads:
                thread.start()
            for kill in range(KILLS):
                load.wait_for_progress()  # each run of the server acknowledges something before it dies
                time.sleep(rng.uniform(0.0, 1.5))
                server.kill()
                worker.kill()
                worker.wait(10)
                mark("killed")
                server.start()
                mark("restarted")
                worker = start_worker(url, tmp_path, str(kill + 1), **worker_env)
            time.sleep(rng.uniform(0.5, 1.5))
        finally:
            load.stop.set()
            for thread in threads:
                thread.join(30)
        try:
            # Requests that got no answer are retried with their key: each lands once, whether or not it had.
            with httpx.Client(base_url=server.url, timeout=30, headers={"X-API-Key": KEY, **COUNTER_CLERK}) as http:
                unanswered_receptions = [k for k, code in load.receptions.items() if code is None]
                for key in unanswered_receptions:
                    load.record_reception(key, http.post("/api/v1/dossiers", json=load.body,
                                                         headers={"Idempotency-Key": key}))
                unanswered_completions = [(t, k) for t, (k, status) in load.completions.items() if status is None]
                for task_id, key in unanswered_completions:
                    load.send_completion(http, task_id, key)
            mark("retried")
            assert not load.errors, load.errors[:5]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and _undelivered(services):
                assert worker.poll() is None
                time.sleep(0.2)
        finally:
            worker.kill()
            worker.wait(10)
            server.stop()
        mark("drained")
        received = httpx.get(f"{dvcqg.url}/_control/received").json()

    acknowledged = {k: c for k, c in load.receptions.items() if c is not None}
    assert len(acknowledged) == len(load.receptions) >= 5
    completed = {t for t, (_, status) in load.completions.items() if status == "200"}
    assert len(completed) == len(load.completions) >= 1
    with services.db.read() as session:
        codes = list(session.scalars(select(Dossier.code)))
        task_status = dict(session.execute(select(HumanTask.id, HumanTask.status)).all())
        completion_events = session.execute(
            select(Event.data).where(Event.type == "task.completed")).scalars().all()
        outbox_keys = set(session.scalars(select(OutboxMessage.idempotency_key)
                                          .where(OutboxMessage.topic == "dvcqg")))
        jobs = dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
    assert sorted(codes) == sorted(acknowledged.values())  # each acknowledged reception once, nothing else
    assert all(task_status[t] == "completed" for t in completed)
    completed_ids = [data["taskId"] for data in completion_events]
    assert sorted(completed_ids) == sorted(completed)  # each acknowledged completion once
    mark("checking")
    assert half_advanced(services) == []
    mark("checked")
    assert outbox_keys and {m["key"] for m in received["messages"]} == outbox_keys
    print(f"\ncrash safety: {server.starts - 1} server kills, {KILLS} worker kills; receptions "
          f"{len(acknowledged)} ({len(unanswered_receptions)} retried after no answer), completions "
          f"{len(completed)} ({len(unanswered_completions)} retried); found {len(codes)} dossiers; "
          f"outbox {len(outbox_keys)} delivered; timer jobs by status {jobs}")


def _undelivered(services) -> int:
    with services.db.read() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.topic == "dvcqg", OutboxMessage.status != "delivered"))
