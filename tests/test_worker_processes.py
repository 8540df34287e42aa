"""Two `motcua worker` processes on one PostgreSQL database: 1,000 timers due at once fire exactly once,
even when one worker is SIGKILLed halfway (its claimed batch is taken over when the lease runs out)."""

import signal
import time
from datetime import UTC, datetime

from sqlalchemy import func, select

from bench.timers import (
    fired_events,
    make_all_due,
    pending_jobs,
    spawn_workers,
    stop_workers,
    wait_until_started,
    waiting_instances,
)
from persistence.job_models import Job
from persistence.models import Event, HumanTask, ProcessInstance

TIMERS = 1_000
LEASE_SECONDS = 4


def test_two_worker_processes_fire_each_timer_exactly_once_and_survive_a_sigkill(pg_services, tmp_path):
    services = pg_services
    instance_ids = set(waiting_instances(services, TIMERS))
    assert pending_jobs(services.db) == TIMERS
    workers = spawn_workers(services.settings.database_url, 2, tmp_path, job_batch_size=25,
                            job_lease_seconds=LEASE_SECONDS, worker_poll_seconds=0.05)
    try:
        wait_until_started(workers, tmp_path)
        make_all_due(services.db, datetime.now(UTC))
        victim, survivor = workers
        deadline = time.monotonic() + 40

        def held_by_victim() -> int:
            with services.db.read() as session:
                return session.scalar(select(func.count()).select_from(Job).where(
                    Job.status == "running", Job.locked_by.like(f"%:{victim.pid}:%")))

        # Kill it mid-batch, after a quarter fired: wait for a moment when it holds claimed jobs (on a loaded
        # machine the first quarter may pass while it is between batches).
        while time.monotonic() < deadline and not (fired_events(services.db) >= TIMERS // 4 and held_by_victim()):
            time.sleep(0.005)
        victim.send_signal(signal.SIGKILL)  # it holds claimed jobs nobody else may take yet
        victim.wait()
        orphaned = held_by_victim()
        assert orphaned > 0  # killed while holding a claimed batch: the lease takeover is what saves them
        while pending_jobs(services.db) > 0 and time.monotonic() < deadline:
            assert survivor.poll() is None, (tmp_path / "worker-1.log").read_text()[-2000:]
            time.sleep(0.2)
        assert pending_jobs(services.db) == 0, "timers were lost"
    finally:
        stop_workers(workers)

    with services.db.read() as session:
        fired = session.execute(select(Event.process_instance_id, Event.actor)
                                .where(Event.type == "timer.fired")).all()
        open_after = session.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.element_id == "after", HumanTask.status == "open"))
        running = session.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.status == "running"))
    assert len(fired) == TIMERS  # no timer fired twice...
    assert {instance for instance, _ in fired} == instance_ids  # ...and none was lost
    assert open_after == TIMERS and running == TIMERS
    by_worker = {actor for _, actor in fired}
    assert len(by_worker) == 2  # both processes fired some: the victim before it died, the survivor the rest
