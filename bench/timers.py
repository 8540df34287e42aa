"""Timers at scale: N instances wait on a timer, all made due at once, fired by K `motcua worker` processes.

`python -m bench.timers [--timers 10000] [--workers 2]` (PostgreSQL at MOTCUA_BENCH_POSTGRES_URL or local).
Reports the time from due to fired (median, p99) and timers fired per second. The waiting instances are
one real started instance copied row by row (same state, new ids): starting 10,000 through the API
would measure instance start, not the scheduler.
"""

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select, update

from app.container import Services, build_services
from app.engine.parsing import SourceFile
from app.settings import Settings
from persistence.db import Database
from persistence.job_models import Job
from persistence.migrate import upgrade
from persistence.models import Event, ProcessInstance, Wait

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench_timer"
DIAGRAM = f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Defs_{KEY}"
  targetNamespace="http://bpmn.io/schema/bpmn">
<bpmn:process id="{KEY}" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:intermediateCatchEvent id="wait_timer"><bpmn:timerEventDefinition>
<bpmn:timeDuration>workdays(1)</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:userTask id="after" name="Sau hẹn giờ"/>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait_timer"/>
<bpmn:sequenceFlow id="f2" sourceRef="wait_timer" targetRef="after"/>
<bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
</bpmn:process>
</bpmn:definitions>
'''.encode()


def waiting_instances(services: Services, count: int, chunk: int = 2_000) -> list[str]:
    """`count` instances each waiting on one timer job: one started for real, the rest copied from it.

Task ids are global (they key human_tasks), so every copy gets its state's UUIDs renamed.
"""
    services.deployments.deploy([SourceFile("bench_timer.bpmn", DIAGRAM)], name="bench", actor="bench")
    source = services.instances.start(key=KEY, actor="bench")
    ids = [source.id]
    with services.db.read() as session:
        row = session.get(ProcessInstance, source.id)
        [wait] = session.scalars(select(Wait).where(Wait.process_instance_id == source.id))
        [job] = session.scalars(select(Job).where(Job.process_instance_id == source.id))
    now = datetime.now(UTC)
    for offset in range(0, count - 1, chunk):
        new_ids = [str(uuid.uuid4()) for _ in range(min(chunk, count - 1 - offset))]
        with services.db.transaction() as session:
            session.execute(insert(ProcessInstance), [
                {"id": i, "definition_id": row.definition_id, "key": row.key,
                 "definition_version": row.definition_version, "business_key": None, "status": "running",
                 "state": _renamed(row.state), "variables": row.variables, "version": 1, "created_at": now,
                 "updated_at": now} for i in new_ids])
            session.execute(insert(Wait), [
                {"process_instance_id": i, "kind": wait.kind, "name": wait.name, "element_id": wait.element_id,
                 "due_at": wait.due_at} for i in new_ids])
            session.execute(insert(Job), [
                {"kind": job.kind, "process_instance_id": i, "element_id": job.element_id, "due_at": job.due_at,
                 "status": "pending", "attempts": 0, "next_attempt_at": job.next_attempt_at, "payload": {},
                 "created_at": now, "updated_at": now} for i in new_ids])
        ids.extend(new_ids)
    return ids


_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _renamed(state: bytes) -> bytes:
    fresh: dict[bytes, bytes] = {}
    return _UUID.sub(lambda m: fresh.setdefault(m.group(0), str(uuid.uuid4()).encode()), state)


def make_all_due(db: Database, at: datetime) -> None:
    with db.transaction() as session:
        session.execute(update(Job).values(due_at=at, next_attempt_at=at))


def spawn_workers(url: str, count: int, log_dir: Path, **settings: object) -> list[subprocess.Popen]:
    """`motcua worker` processes; each logs to log_dir/worker-N.log (a pipe nobody reads could fill up)."""
    env = {**os.environ, "MOTCUA_DATABASE_URL": url, "MOTCUA_SCAN_INTERVAL_SECONDS": "3600",
           **{f"MOTCUA_{k.upper()}": str(v) for k, v in settings.items()}}
    workers = []
    for n in range(count):
        with open(log_dir / f"worker-{n}.log", "w") as log:
            workers.append(subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], cwd=ROOT, env=env,
                                            stdout=subprocess.DEVNULL, stderr=log))
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def wait_until_started(workers: list[subprocess.Popen], log_dir: Path, timeout: float = 30.0) -> None:
    """Each worker logs 'started' once its imports are done and it is about to poll."""
    deadline = time.monotonic() + timeout
    for n, worker in enumerate(workers):
        while "started" not in (log_dir / f"worker-{n}.log").read_text():
            if worker.poll() is not None:
                raise RuntimeError(f"worker exited early: {(log_dir / f'worker-{n}.log').read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("worker did not start")
            time.sleep(0.05)


def fired_events(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Event).where(Event.type == "timer.fired")) or 0


def pending_jobs(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Job)) or 0


def latencies_ms(db: Database) -> tuple[list[float], datetime]:
    """Per fired timer, ms from its due time to the firing commit's clock; and the last firing time."""
    with db.read() as session:
        rows = session.execute(select(Event.at, Event.data).where(Event.type == "timer.fired")).all()
    values = [(at - datetime.fromisoformat(data["dueAt"])).total_seconds() * 1000 for at, data in rows]
    return values, max(at for at, _ in rows)


def measure(timers: int = 10_000, workers: int = 2, batch: int = 50) -> str:
    """Run the scenario on a throw-away PostgreSQL database; return the one-line result."""
    from bench import pg

    admin = pg.admin_url()
    problem = pg.unreachable_reason(admin)
    if problem:
        raise RuntimeError(f"PostgreSQL needed: {problem}")
    url = pg.create_database(admin)
    db = Database(url)
    upgrade(db.engine)
    services = build_services(Settings(database_url=url))
    processes: list[subprocess.Popen] = []
    try:
        started = time.perf_counter()
        waiting_instances(services, timers)
        print(f"prepared {timers} waiting instances in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        log_dir = Path(tempfile.mkdtemp(prefix="motcua-bench-timers-"))
        processes = spawn_workers(url, workers, log_dir, job_batch_size=batch, worker_poll_seconds=0.05)
        wait_until_started(processes, log_dir)
        due = datetime.now(UTC)
        make_all_due(db, due)
        while pending_jobs(db) > 0:
            if all(p.poll() is not None for p in processes):
                raise RuntimeError("every worker exited")
            time.sleep(0.2)
        values, last = latencies_ms(db)
        fired = fired_events(db)
        elapsed = (last - due).total_seconds()
        values.sort()
        p99 = values[min(len(values) - 1, int(0.99 * len(values)))]
        if fired != timers:
            raise RuntimeError(f"expected {timers} firings, counted {fired}")
        return (f"timers: {fired} due at once, fired by {workers} `motcua worker` processes (batch {batch}) on "
                f"PostgreSQL {pg.server_version(url)}: due→fired median {statistics.median(values):.0f} ms, "
                f"p99 {p99:.0f} ms, max {values[-1]:.0f} ms; {fired / elapsed:.0f} timers/s over {elapsed:.1f} s")
    finally:
        stop_workers(processes)
        services.close()
        db.dispose()
        pg.drop_database(admin, url)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.timers", description=__doc__)
    parser.add_argument("--timers", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args(argv)
    print(measure(args.timers, args.workers, args.batch))


if __name__ == "__main__":
    main()
