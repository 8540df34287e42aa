"""Queries over the engine tables; no rules, just the SQL each use case needs."""

from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from persistence.models import Event, HumanTask, ProcessDefinition, ProcessInstance, TaskCandidateGroup, Wait


def lock_process_key(session: Session, key: str) -> None:
    """Serialise version numbering per key. SQLite writers are already serial (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))


def latest_definition(session: Session, key: str) -> ProcessDefinition | None:
    return session.scalars(
        select(ProcessDefinition).where(ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc()).limit(1)
    ).first()


def list_definitions(session: Session, key: str | None, limit: int, offset: int) -> Sequence[ProcessDefinition]:
    query = select(ProcessDefinition).order_by(ProcessDefinition.key, ProcessDefinition.version)
    if key:
        query = query.where(ProcessDefinition.key == key)
    return session.scalars(query.limit(limit).offset(offset)).all()


def list_instances(session: Session, *, key: str | None, business_key: str | None, status: str | None,
                   limit: int, offset: int) -> Sequence[ProcessInstance]:
    query = select(ProcessInstance)
    if key:
        query = query.where(ProcessInstance.key == key)
    if business_key:
        query = query.where(ProcessInstance.business_key == business_key)
    if status:
        query = query.where(ProcessInstance.status == status)
    return session.scalars(query.order_by(ProcessInstance.created_at.desc(), ProcessInstance.id)
                           .limit(limit).offset(offset)).all()


def open_tasks_of(session: Session, instance_ids: Sequence[str]) -> Sequence[HumanTask]:
    if not instance_ids:
        return []
    return session.scalars(
        select(HumanTask).where(HumanTask.process_instance_id.in_(instance_ids), HumanTask.status == "open")
        .order_by(HumanTask.created_at, HumanTask.id)
    ).all()


def waits_of(session: Session, instance_ids: Sequence[str]) -> Sequence[Wait]:
    if not instance_ids:
        return []
    return session.scalars(select(Wait).where(Wait.process_instance_id.in_(instance_ids)).order_by(Wait.id)).all()


def list_tasks(session: Session, *, instance_id: str | None, lane: str | None, candidate_group: str | None,
               assignee: str | None, status: str | None, limit: int, offset: int) -> Sequence[HumanTask]:
    query = select(HumanTask)
    if status:
        query = query.where(HumanTask.status == status)
    if instance_id:
        query = query.where(HumanTask.process_instance_id == instance_id)
    if lane:
        query = query.where(HumanTask.lane == lane)
    if assignee:
        query = query.where(HumanTask.assignee == assignee)
    if candidate_group:
        query = query.join(TaskCandidateGroup, TaskCandidateGroup.task_id == HumanTask.id).where(
            TaskCandidateGroup.group_name == candidate_group)
    return session.scalars(query.order_by(HumanTask.created_at, HumanTask.id).limit(limit).offset(offset)).all()


def replace_waits(session: Session, instance_id: str, waits: list[Wait]) -> list[str]:
    """Answers the kinds of the waits replaced (RETURNING: no extra query)."""
    replaced = session.scalars(delete(Wait).where(Wait.process_instance_id == instance_id)
                               .returning(Wait.kind).execution_options(synchronize_session=False)).all()
    session.add_all(waits)
    return list(replaced)


def append_events(session: Session, events: list[Event]) -> None:
    """One executemany INSERT, without fetching ids back: history rows are never read in the same command.

    Core, not ORM, insert: the ORM's bulk insert leaves out None values, so rows with and without an actor
    would go out as two statements."""
    if events:
        session.execute(insert(Event.__table__), [
            {"process_instance_id": e.process_instance_id, "at": e.at, "type": e.type, "element_id": e.element_id,
             "actor": e.actor, "data": e.data or {}} for e in events])


def message_waiters(session: Session, message_name: str, *, business_key: str | None,
                    instance_id: str | None, limit: int = 2) -> Sequence[str]:
    query = (select(Wait.process_instance_id).distinct()
             .join(ProcessInstance, ProcessInstance.id == Wait.process_instance_id)
             .where(Wait.kind == "message", Wait.name == message_name, ProcessInstance.status == "running"))
    if business_key:
        query = query.where(ProcessInstance.business_key == business_key)
    if instance_id:
        query = query.where(ProcessInstance.id == instance_id)
    return session.scalars(query.limit(limit)).all()


def claim_task(session: Session, task_id: str, assignee: str) -> bool:
    result = session.execute(
        update(HumanTask)
        .where(HumanTask.id == task_id, HumanTask.status == "open",
               (HumanTask.assignee.is_(None)) | (HumanTask.assignee == assignee))
        .values(assignee=assignee)
    )
    return result.rowcount == 1


def history(session: Session, instance_id: str) -> Sequence[Event]:
    return session.scalars(select(Event).where(Event.process_instance_id == instance_id).order_by(Event.id)).all()


def count_instances(session: Session, definition_id: str) -> int:
    return session.scalar(select(func.count()).select_from(ProcessInstance)
                          .where(ProcessInstance.definition_id == definition_id)) or 0
