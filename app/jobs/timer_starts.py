"""Timer start events: each deployed version with one gets a job row per start event, due at its date (or one
duration after the deployment, or the cycle's next occurrence); the worker starts one instance when it is due
and, for a cycle, leaves the row of the next occurrence. A newer version of the key replaces the pending rows of
the older ones, as Camunda does."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.engine import timers
from app.engine.model import ProcessModel
from app.engine.timer_events import timer_starts
from app.jobs.worker import Obsolete
from app.processes.instances import InstanceService
from persistence import repositories as repo
from persistence.job_models import Job
from persistence.models import ProcessDefinition

KIND = "timer_start"


def schedule_timer_starts(session: Session, deployed: list[tuple[ProcessDefinition, ProcessModel]]) -> None:
    """Deployment listener, in the deployment's transaction."""
    now = datetime.now(UTC)
    keys = {row.key for row, _ in deployed}
    pending = session.execute(select(Job.id, Job.payload).where(Job.kind == KIND, Job.status == "pending")).all()
    replaced = [job_id for job_id, payload in pending if (payload or {}).get("key") in keys]
    if replaced:
        session.execute(delete(Job).where(Job.id.in_(replaced)))
    for row, model in deployed:
        for element_id, text in timer_starts(model.spec):
            parsed = timers.parse(text)  # checked at deploy: a date, a duration or a cycle
            cycle = parsed.cycle() if parsed.kind == "cycle" else None
            payload = {"definitionId": row.id, "key": row.key, "interval": cycle.interval if cycle else None,
                       "remaining": (cycle.repetitions - 1 if cycle.repetitions else None) if cycle else 0}
            session.add(_job(element_id, parsed.due(now, timers.WallClock()), payload, now))


def _job(element_id: str, due: datetime, payload: dict[str, Any], now: datetime) -> Job:
    return Job(kind=KIND, process_instance_id=None, element_id=element_id, due_at=due, status="pending",
               attempts=0, next_attempt_at=due, payload=payload, created_at=now, updated_at=now)


class TimerStartHandler:
    """Starts the instance of a due timer start event inside the worker's transaction."""

    kind = KIND

    def __init__(self, instances: InstanceService) -> None:
        self.instances = instances

    def __call__(self, session: Session, job: Job, now: datetime) -> None:
        # The claimed row goes first: a worker that took the job over after our lease ran out finds it gone (or
        # waits on its lock), so one due time starts one instance.
        taken = session.execute(delete(Job).where(Job.id == job.id, Job.locked_by == job.locked_by))
        if taken.rowcount != 1:
            raise Obsolete()
        payload = job.payload or {}
        latest = repo.latest_definition(session, payload.get("key") or "")
        if latest is None or latest.id != payload.get("definitionId"):
            raise Obsolete()  # a newer version replaced this one's timer
        actor = f"worker {job.locked_by}"
        started = self.instances.start_in(session, definition_id=latest.id, actor=actor)
        if started.status == "running":
            self.instances.fire_timer_in(session, started.id, job.element_id or "", due_at=job.due_at, actor=actor)
        remaining = payload.get("remaining")
        if payload.get("interval") and remaining != 0:
            following = timers.Cycle(None, None, payload["interval"]).after(job.due_at)
            session.add(_job(job.element_id or "", following, {
                **payload, "remaining": None if remaining is None else remaining - 1}, now))
