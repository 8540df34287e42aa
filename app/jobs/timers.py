"""Timer jobs: one row per timer an instance waits on, kept in step with its waits, fired by the worker."""

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.jobs.worker import Obsolete, Postpone
from app.processes.instances import TIMER_WAITS_BEFORE, InstanceService
from persistence.job_models import Job
from persistence.models import HumanTask, ProcessInstance, Wait

KIND = "timer"


def sync_timer_jobs(session: Session, instance: ProcessInstance, tasks: list[HumanTask], waits: list[Wait],
                    now: datetime) -> None:
    """Instance listener: same transaction as the change, so a timer row exists exactly while the wait does."""
    wanted = _timers(waits)
    if not wanted and not session.info.get(TIMER_WAITS_BEFORE, {}).get(instance.id, True):
        return  # no timer before or after this change, hence no timer job to look for
    existing = session.execute(select(Job.id, Job.element_id, Job.due_at).where(
        Job.process_instance_id == instance.id, Job.kind == KIND)).all()
    stale = [job_id for job_id, element_id, due_at in existing if (element_id, due_at) not in wanted]
    if stale:
        session.execute(delete(Job).where(Job.id.in_(stale)))
    have = {(element_id, due_at) for _, element_id, due_at in existing}
    session.add_all(_jobs(instance.id, wanted - have, now))


def timer_jobs_of_new_instance(instance_id: str, waits: list[Wait], now: datetime) -> list[Job]:
    """The jobs `sync_timer_jobs` writes for an instance with no earlier timer (a bulk-written new one)."""
    return _jobs(instance_id, _timers(waits), now)


def _timers(waits: list[Wait]) -> set[tuple[str, datetime]]:
    return {(w.element_id, w.due_at) for w in waits if w.kind == "timer" and w.due_at is not None}


def _jobs(instance_id: str, timers: set[tuple[str, datetime]], now: datetime) -> list[Job]:
    return [Job(kind=KIND, process_instance_id=instance_id, element_id=element_id, due_at=due_at, status="pending",
                attempts=0, next_attempt_at=due_at, payload={}, created_at=now, updated_at=now)
            for element_id, due_at in sorted(timers, key=lambda pair: (pair[1], pair[0]))]


class TimerHandler:
    """Fires one due timer inside the worker's transaction; the instance's version check picks one winner."""

    kind = KIND

    def __init__(self, instances: InstanceService) -> None:
        self.instances = instances

    def __call__(self, session: Session, job: Job, now: datetime) -> None:
        instance = session.get(ProcessInstance, job.process_instance_id)
        if instance is None or instance.status in ("completed", "terminated"):
            raise Obsolete()
        if instance.status == "suspended":
            raise Postpone(60, "phiên chạy đang tạm dừng")
        fired = self.instances.fire_timer_in(session, instance.id, job.element_id or "", due_at=job.due_at,
                                             actor=f"worker {job.locked_by}")
        if fired is None:
            raise Obsolete()
