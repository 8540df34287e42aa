"""Retention: drop the workflow state of instances that finished before a date, keeping history and result.

A finished instance is never moved again, so its state (a few KB each) only matters for the coloured
diagram, which is then drawn from the history instead. Live tables stay small at a million dossiers.
"""

from datetime import UTC, datetime

from sqlalchemy import delete, select, update

from persistence.db import Database
from persistence.job_models import Job
from persistence.models import ProcessInstance, Wait

FINISHED = ("completed", "terminated")


class Archiver:
    def __init__(self, db: Database) -> None:
        self.db = db

    def archive(self, finished_before: datetime, *, batch: int = 500) -> int:
        """Archive in batches of `batch` instances, one transaction each; returns how many were archived."""
        archived = 0
        while True:
            with self.db.transaction() as session:
                ids = list(session.scalars(select(ProcessInstance.id).where(
                    ProcessInstance.status.in_(FINISHED), ProcessInstance.ended_at < finished_before,
                    ProcessInstance.archived_at.is_(None)).order_by(ProcessInstance.ended_at).limit(batch)))
                if not ids:
                    return archived
                # Core UPDATE: no version bump, as nothing about the instance's course changes.
                session.execute(update(ProcessInstance).where(ProcessInstance.id.in_(ids),
                                                              ProcessInstance.archived_at.is_(None))
                                .values(state=b"", archived_at=datetime.now(UTC))
                                .execution_options(synchronize_session=False))
                session.execute(delete(Wait).where(Wait.process_instance_id.in_(ids)))
                session.execute(delete(Job).where(Job.process_instance_id.in_(ids)))
                archived += len(ids)
