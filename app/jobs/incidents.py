"""Jobs that failed their last try, as an admin sees them, and putting one back in the queue."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from app.errors import Conflict, NotFound
from app.shapes import CamelModel
from persistence.db import Database
from persistence.job_models import Job
from persistence.models import Event


class IncidentView(CamelModel):
    id: int
    kind: str
    status: str
    process_instance_id: str | None
    element_id: str | None
    due_at: datetime
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    payload: dict[str, Any]
    updated_at: datetime


class IncidentService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def list(self, limit: int = 100) -> list[IncidentView]:
        with self.db.read() as session:
            rows = session.scalars(select(Job).where(Job.status == "incident")
                                   .order_by(Job.updated_at.desc(), Job.id.desc()).limit(limit))
            return [IncidentView.of(row) for row in rows]

    def retry(self, job_id: int, actor: str | None = None) -> IncidentView:
        with self.db.transaction() as session:
            job = session.get(Job, job_id, with_for_update=self.db.dialect == "postgresql")
            if job is None:
                raise NotFound(f"Không có sự cố số {job_id}", field="id")
            if job.status != "incident":
                raise Conflict(f"Việc số {job_id} không ở trạng thái sự cố ({job.status})")
            now = datetime.now(UTC)
            job.status, job.attempts, job.next_attempt_at, job.updated_at = "pending", 0, now, now
            session.add(Event(process_instance_id=job.process_instance_id, type="job.retried",
                              element_id=job.element_id, actor=actor, at=now, data={"jobId": job.id}))
            session.flush()
            return IncidentView.of(job)
