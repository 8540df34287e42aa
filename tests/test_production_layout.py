"""The production layout in small: two API processes (`motcua serve --no-worker`) and two `motcua worker`
processes on one PostgreSQL. Every task completion is sent to both API processes at once: one wins, the other
answers 409 (no double completion, no lost update); meanwhile the workers fire every due timer exactly once
and chain the audit log that the API processes append to without waiting for each other."""

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select

from app.engine.parsing import SourceFile
from bench.timers import fired_events, make_all_due, pending_jobs, spawn_workers, stop_workers, waiting_instances
from persistence.models import Event, HumanTask, ProcessInstance
from persistence.security_models import AuditEvent
from tests import diagrams
from tests.conftest import ROOT

TIMERS = 150
INSTANCES = 30
TASKS = ("a", "b", "c")
API_KEY = "mc_layout_test_key_0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _spawn_api(url: str, log_path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "MOTCUA_DATABASE_URL": url, "MOTCUA_BOOTSTRAP_API_KEY": API_KEY,
           "MOTCUA_DB_POOL_SIZE": "8", "MOTCUA_DB_MAX_OVERFLOW": "4",
           # the loser of each race waits on the winner's instance lock; on a loaded 2-core machine that wait can
           # pass production's 15 s statement timeout (a 503). This test is about outcomes, not latency.
           "MOTCUA_DB_STATEMENT_TIMEOUT_MS": "60000"}
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--no-worker", "--port", str(port)],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    return proc, f"http://127.0.0.1:{port}"


def _wait_healthy(proc: subprocess.Popen, base: str, log_path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, log_path.read_text()[-2000:]
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"API process did not start: {log_path.read_text()[-2000:]}")


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_two_api_processes_and_two_workers_on_one_postgresql(pg_services, tmp_path):
    services = pg_services
    url = services.settings.database_url
    timer_instances = set(waiting_instances(services, TIMERS))
    services.deployments.deploy([SourceFile("song_song.bpmn", diagrams.linear("song_song", tasks=TASKS))],
                                name="layout", actor="test")
    first_tasks = [services.instances.start(key="song_song", actor="test").open_tasks[0].id
                   for _ in range(INSTANCES)]
    apis = [_spawn_api(url, tmp_path / f"api-{n}.log") for n in range(2)]
    workers = spawn_workers(url, 2, tmp_path, job_batch_size=10, worker_poll_seconds=0.05)
    outcomes: list[tuple[int, int]] = []
    try:
        for n, (proc, base) in enumerate(apis):
            _wait_healthy(proc, base, tmp_path / f"api-{n}.log")
        make_all_due(services.db, datetime.now(UTC))  # the workers fire these while the API is under load
        headers = {"X-API-Key": API_KEY}
        with httpx.Client(headers=headers, timeout=30) as http, ThreadPoolExecutor(16) as pool:
            def send(base: str, task_id: str) -> httpx.Response:
                return http.post(f"{base}/api/v1/tasks/{task_id}/complete", json={"variables": {"ok": True}})

            def drive(task_id: str) -> None:
                """Walk one instance to its end, racing each completion on both API processes."""
                with ThreadPoolExecutor(2) as racers:
                    while task_id:
                        first, second = racers.map(send, [base for _, base in apis], [task_id] * 2)
                        codes = sorted((first.status_code, second.status_code))
                        outcomes.append(tuple(codes))
                        assert codes == [200, 409], (first.text, second.text)
                        winner = first if first.status_code == 200 else second
                        open_tasks = winner.json()["openTasks"]
                        task_id = open_tasks[0]["id"] if open_tasks else None

            list(pool.map(drive, first_tasks))
        deadline = time.monotonic() + 40
        while pending_jobs(services.db) > 0 and time.monotonic() < deadline:
            for n, worker in enumerate(workers):
                assert worker.poll() is None, (tmp_path / f"worker-{n}.log").read_text()[-2000:]
            time.sleep(0.1)
        assert pending_jobs(services.db) == 0, "timers were lost"
        services.audit.chain()  # rows committed after the workers' last tick
    finally:
        _stop([proc for proc, _ in apis])
        stop_workers(workers)

    assert len(outcomes) == INSTANCES * len(TASKS)  # every step won exactly once...
    with services.db.read() as session:
        fired = session.execute(select(Event.process_instance_id).where(Event.type == "timer.fired")).scalars().all()
        completed = session.execute(select(Event.process_instance_id, func.count())
                                    .where(Event.type == "task.completed").group_by(Event.process_instance_id)).all()
        linear = session.execute(select(ProcessInstance.status, ProcessInstance.version)
                                 .where(ProcessInstance.key == "song_song")).all()
        done_tasks = session.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.status == "completed"))
        audited = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "POST /api/v1/tasks/{task_id}/complete"))
    # ...and each win is in the history once, its instance's version moved once per step (no lost update)
    assert sorted(n for _, n in completed) == [len(TASKS)] * INSTANCES
    assert done_tasks == INSTANCES * len(TASKS)
    assert set(linear) == {("completed", 1 + len(TASKS))}
    assert sorted(fired) == sorted(timer_instances) and fired_events(services.db) == TIMERS  # each timer once
    assert audited == INSTANCES * len(TASKS)  # the losers' transactions rolled back with their audit rows
    verified = services.audit.verify()
    assert verified["ok"] and verified["checked"] >= audited
