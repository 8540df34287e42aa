"""The worker loop: claim due jobs (SKIP LOCKED on PostgreSQL), run each in its own transaction, retry or
raise an incident, and run periodic scans. Job kinds plug in as handlers; scans as callables.

A claim is a lease: a worker that dies (SIGKILL) leaves its jobs `running` until `locked_until`, after
which any worker takes them again. Running a job twice is harmless because handlers act through the
instance's optimistic version check and job rows vanish in the same transaction as their effect.
"""

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.errors import Conflict
from persistence.db import Database
from persistence.job_models import Job, WorkerHeartbeat
from persistence.models import Event

log = logging.getLogger("motcua.worker")


class Obsolete(Exception):  # a signal, not an error
    """Nothing left to do (the instance moved on): the job is dropped."""


class Postpone(Exception):
    """Not now, and not a failure: try again in `seconds` without counting an attempt."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = seconds


class JobHandler(Protocol):
    kind: str

    def __call__(self, session: Session, job: Job, now: datetime) -> None: ...


Scan = Callable[[datetime], int]
# Work polled on every tick besides jobs (e.g. the integrations outbox); returns how much it did.
Pump = Callable[[datetime], int]


@dataclass
class WorkerOptions:
    batch_size: int = 50
    lease_seconds: float = 60.0
    max_attempts: int = 5
    backoff_seconds: float = 10.0
    poll_seconds: float = 1.0
    scan_interval_seconds: float = 60.0
    concurrency: int = 4  # jobs of one batch run side by side: each is mostly waiting on the database
    heartbeat_seconds: float = 5.0  # how often the loop tells /readyz it is alive (one tiny write)


@dataclass
class TickResult:
    claimed: int = 0
    done: int = 0
    failed: int = 0
    incidents: int = 0
    scanned: int = 0
    pumped: int = 0
    outcomes: dict[int, str] = field(default_factory=dict)


class Worker:
    def __init__(self, db: Database, handlers: list[JobHandler], scans: list[Scan] | None = None,
                 options: WorkerOptions | None = None, worker_id: str | None = None,
                 pumps: list[Pump] | None = None) -> None:
        self.db = db
        self.handlers = {h.kind: h for h in handlers}
        self.scans = list(scans or [])
        self.pumps = list(pumps or [])
        self.options = options or WorkerOptions()
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._last_scan: datetime | None = None
        self._last_beat: datetime | None = None

    # --- one round ---------------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> TickResult:
        """Claim one batch of due jobs, run them, and the scans when their interval has passed."""
        now = now or datetime.now(UTC)
        result = TickResult()
        claimed = self.claim(now)
        if len(claimed) > 1 and self.options.concurrency > 1:
            with ThreadPoolExecutor(min(self.options.concurrency, len(claimed))) as pool:
                outcomes = list(pool.map(lambda job_id: self.run_job(job_id, now), claimed))
        else:
            outcomes = [self.run_job(job_id, now) for job_id in claimed]
        for job_id, outcome in zip(claimed, outcomes, strict=True):
            result.claimed += 1
            result.outcomes[job_id] = outcome
            if outcome == "done":
                result.done += 1
            elif outcome in ("retry", "incident"):
                result.failed += 1
                result.incidents += outcome == "incident"
        for pump in self.pumps:
            try:
                result.pumped += pump(now)
            except Exception:  # a broken receiver must not stop the timers
                log.exception("pump %s failed", getattr(pump, "__name__", pump))
        interval = timedelta(seconds=self.options.scan_interval_seconds)
        if self.scans and (self._last_scan is None or now - self._last_scan >= interval):
            self._last_scan = now
            for scan in self.scans:
                try:
                    result.scanned += scan(now)
                except Exception:  # a broken scan must not stop the timers
                    log.exception("scan %s failed", getattr(scan, "__name__", scan))
        return result

    def claim(self, now: datetime) -> list[int]:
        """Take up to one batch of due jobs (or jobs whose previous claimant's lease ran out)."""
        with self.db.transaction() as session:
            query = (select(Job).where(or_(
                        (Job.status == "pending") & (Job.next_attempt_at <= now),
                        (Job.status == "running") & (Job.locked_until < now)))
                     .order_by(Job.next_attempt_at).limit(self.options.batch_size))
            if self.db.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            jobs = list(session.scalars(query))
            until = now + timedelta(seconds=self.options.lease_seconds)
            for job in jobs:
                job.status, job.locked_by, job.locked_until, job.updated_at = "running", self.worker_id, until, now
            return [job.id for job in jobs]

    def run_job(self, job_id: int, now: datetime) -> str:
        """done | gone | postponed | retry | incident."""
        try:
            with self.db.transaction() as session:
                job = session.get(Job, job_id)
                if job is None or job.locked_by != self.worker_id or job.status != "running":
                    return "gone"  # fired by someone else after our lease ran out, or dropped
                handler = self.handlers.get(job.kind)
                if handler is None:
                    raise LookupError(f"không có bộ xử lý cho loại việc '{job.kind}'")
                handler(session, job, now)
                # only the claimed row: a handler may have replaced it by a new one (a cycle's next occurrence),
                # which SQLite may even give the same id
                session.execute(delete(Job).where(Job.id == job_id, Job.locked_by == self.worker_id))
                return "done"
        except Obsolete:
            with self.db.transaction() as session:
                session.execute(delete(Job).where(Job.id == job_id, Job.locked_by == self.worker_id))
            return "gone"
        except Postpone as exc:
            return self._release(job_id, now + timedelta(seconds=exc.seconds), str(exc))
        except (Conflict, StaleDataError) as exc:  # a concurrent command changed the instance first: look again
            return self._release(job_id, now, str(exc))
        except Exception as exc:
            log.warning("job %s failed: %s", job_id, exc)
            return self._fail(job_id, now, exc)

    def _release(self, job_id: int, when: datetime, reason: str) -> str:
        with self.db.transaction() as session:
            job = session.get(Job, job_id, with_for_update=self.db.dialect == "postgresql")
            if job is None or job.locked_by != self.worker_id:
                return "gone"
            job.status, job.locked_by, job.locked_until = "pending", None, None
            job.next_attempt_at, job.last_error, job.updated_at = when, reason[:2000], datetime.now(UTC)
        return "postponed"

    def _fail(self, job_id: int, now: datetime, exc: Exception) -> str:
        with self.db.transaction() as session:
            job = session.get(Job, job_id, with_for_update=self.db.dialect == "postgresql")
            if job is None or job.locked_by != self.worker_id:
                return "gone"
            job.attempts += 1
            job.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            job.locked_by, job.locked_until, job.updated_at = None, None, now
            if job.attempts >= self.options.max_attempts:
                job.status = "incident"
                session.add(Event(process_instance_id=job.process_instance_id, type="job.incident",
                                  element_id=job.element_id, at=now, actor="worker",
                                  data={"jobId": job.id, "kind": job.kind, "attempts": job.attempts,
                                        "error": job.last_error}))
                return "incident"
            job.status = "pending"
            job.next_attempt_at = now + timedelta(seconds=self.options.backoff_seconds * 2 ** (job.attempts - 1))
            return "retry"

    # --- the loop ----------------------------------------------------------------------------------

    def beat(self, now: datetime | None = None) -> bool:
        """Record that this worker is alive, at most every `heartbeat_seconds`; True when written."""
        now = now or datetime.now(UTC)
        if self._last_beat is not None and now - self._last_beat < timedelta(seconds=self.options.heartbeat_seconds):
            return False
        with self.db.transaction() as session:
            row = session.get(WorkerHeartbeat, self.worker_id)
            if row is None:
                session.add(WorkerHeartbeat(worker_id=self.worker_id, seen_at=now))
                # Worker ids change with every process; rows of long-gone processes are dropped here.
                session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.seen_at < now - timedelta(days=1)))
            else:
                row.seen_at = now
        self._last_beat = now
        return True

    def run(self, stop: threading.Event) -> None:
        """Tick until `stop` is set; sleep only when a tick found nothing to do."""
        log.info("worker %s started", self.worker_id)
        while not stop.is_set():
            try:
                self.beat()
                result = self.tick()
                busy = result.claimed > 0 or result.pumped > 0
            except Exception:
                log.exception("worker tick failed")
                busy = False
            if not busy:
                stop.wait(self.options.poll_seconds)
        log.info("worker %s stopped", self.worker_id)

    def start_thread(self) -> tuple[threading.Thread, threading.Event]:
        stop = threading.Event()
        thread = threading.Thread(target=self.run, args=(stop,), name="motcua-worker", daemon=True)
        thread.start()
        return thread, stop
