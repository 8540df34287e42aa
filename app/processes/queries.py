"""Read views of instances, tasks and history; they read the tables, never the workflow state."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.processes.migrations import MOVABLE
from app.processes.views import HistoryEntry, InstanceView, TaskView
from persistence import repositories as repo
from persistence.db import Database
from persistence.models import HumanTask, ProcessInstance, Wait

MAX_PAGE = 500


class InstanceQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, instance_id: str) -> InstanceView:
        with self.db.read() as session:
            return views_of(session, [_instance(session, instance_id)])[0]

    def list_instances(self, *, key: str | None, business_key: str | None, status: str | None,
                       limit: int, offset: int) -> list[InstanceView]:
        with self.db.read() as session:
            rows = repo.list_instances(session, key=key, business_key=business_key, status=status,
                                       limit=min(limit, MAX_PAGE), offset=offset)
            return views_of(session, list(rows))

    def counts_by_definition(self) -> dict[str, dict[str, int]]:
        """Instances per diagram version and status, for the admin page of versions."""
        with self.db.read() as session:
            rows = session.execute(select(ProcessInstance.definition_id, ProcessInstance.status,
                                          func.count()).group_by(ProcessInstance.definition_id,
                                                                 ProcessInstance.status))
            counts: dict[str, dict[str, int]] = {}
            for definition_id, status, count in rows:
                counts.setdefault(definition_id, {})[status] = count
            return counts

    def unfinished_ids(self, definition_id: str, limit: int = MAX_PAGE) -> list[str]:
        """The instances of one version that could still move to another (running or suspended)."""
        with self.db.read() as session:
            return list(session.scalars(
                select(ProcessInstance.id).where(ProcessInstance.definition_id == definition_id,
                                                 ProcessInstance.status.in_(MOVABLE))
                .order_by(ProcessInstance.created_at, ProcessInstance.id).limit(limit)))

    def history(self, instance_id: str) -> list[HistoryEntry]:
        with self.db.read() as session:
            _instance(session, instance_id)
            return [HistoryEntry.of(e) for e in repo.history(session, instance_id)]

    def get_task(self, task_id: str) -> TaskView:
        with self.db.read() as session:
            row = session.get(HumanTask, task_id)
            if row is None:
                raise NotFound(f"Không có bước xử lý '{task_id}'", field="id")
            return TaskView.of(row)

    def list_tasks(self, *, instance_id: str | None, lane: str | None, candidate_group: str | None,
                   assignee: str | None, status: str | None, limit: int, offset: int) -> list[TaskView]:
        with self.db.read() as session:
            rows = repo.list_tasks(session, instance_id=instance_id, lane=lane, candidate_group=candidate_group,
                                   assignee=assignee, status=status, limit=min(limit, MAX_PAGE), offset=offset)
            return [TaskView.of(r) for r in rows]


def views_of(session: Session, rows: list[ProcessInstance]) -> list[InstanceView]:
    ids = [r.id for r in rows]
    tasks: dict[str, list[HumanTask]] = {i: [] for i in ids}
    for task in repo.open_tasks_of(session, ids):
        tasks[task.process_instance_id].append(task)
    waits: dict[str, list[Wait]] = {i: [] for i in ids}
    for wait in repo.waits_of(session, ids):
        waits[wait.process_instance_id].append(wait)
    return [InstanceView.of(r, r.definition_version, tasks[r.id], waits[r.id]) for r in rows]


def _instance(session: Session, instance_id: str) -> ProcessInstance:
    row = session.get(ProcessInstance, instance_id)
    if row is None:
        raise NotFound(f"Không có phiên chạy '{instance_id}'", field="id")
    return row
