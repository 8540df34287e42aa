"""Queries over the engine tables; no rules, just the SQL each use case needs."""

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, inspect, or_, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from persistence.dossier_models import Dossier
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
    """Answers the kinds of the waits replaced (RETURNING: no extra query). The new rows go in as one Core
    INSERT: nobody reads a wait's id back in the command that wrote it."""
    replaced = session.execute(_DELETE_WAITS, {"instance_id": instance_id}).scalars().all()
    insert_waits(session, waits)
    return list(replaced)


def insert_waits(session: Session, waits: Sequence[Wait]) -> None:
    if waits:
        session.execute(_INSERT_WAIT, [{"process_instance_id": w.process_instance_id, "kind": w.kind, "name": w.name,
                                        "element_id": w.element_id, "due_at": w.due_at} for w in waits])


def with_defaults(entity: Any) -> Any:
    """A transient ORM object with each unset column given its plain default, as an INSERT would store it:
    what is computed from the object before it is written (a payload, say) then sees the stored values."""
    values = entity.__dict__  # a transient object's set attributes; reading them through the ORM costs 10×
    for key, default in _scalar_defaults(type(entity)):
        if values.get(key) is None:
            setattr(entity, key, default)
    return entity


def insert_new(session: Session, *tables: Sequence[Any]) -> None:
    """Transient ORM objects, one INSERT per group (a group: one table's rows, groups in foreign-key order), as
    the ORM would store them; the objects stay outside the session."""
    for rows in tables:
        if rows:
            session.execute(insert(rows[0].__table__), [row_values(row) for row in rows])


def row_values(entity: Any) -> dict[str, Any]:
    """A transient ORM object as a bulk-insert row, its defaults filled in (so every row of one insert has the
    same keys); an unset primary key is left to the database."""
    with_defaults(entity)
    values = entity.__dict__
    return {key: values.get(key) for key, primary in _column_keys(entity.__table__)
            if not primary or values.get(key) is not None}


@cache
def _scalar_defaults(entity_class: Any) -> tuple[tuple[str, Any], ...]:
    """Each column's plain default; a version counter (mapper version_id_col) starts at 1, as the ORM's does."""
    version = inspect(entity_class).version_id_col
    return (*((c.key, c.default.arg) for c in entity_class.__table__.columns
              if c.default is not None and c.default.is_scalar),
            *(((version.key, 1),) if version is not None else ()))


@cache
def _column_keys(table: Any) -> tuple[tuple[str, bool], ...]:
    return tuple((c.key, c.primary_key) for c in table.columns)


def insert_instances(session: Session, rows: list[dict[str, Any]]) -> None:
    """New process_instances rows as one INSERT (the bulk start of an import)."""
    if rows:
        session.execute(insert(ProcessInstance.__table__), rows)


_WAITS = Wait.__table__
_DELETE_WAITS = delete(_WAITS).where(_WAITS.c.process_instance_id == bindparam("instance_id")).returning(_WAITS.c.kind)
_INSERT_WAIT = insert(_WAITS)


_HELD_DOSSIERS = "motcua_held_dossiers"


def dossier_of_instance(session: Session, instance: ProcessInstance) -> Dossier | None:
    """The dossier an instance runs: its business key is the dossier's code (a reception starts it so). A look-up
    by primary key, answered from the session once the transaction has read the dossier: the session keeps what
    it found for the whole transaction, since its identity map holds an unchanged row only weakly, and the
    completion's scoping, the dossier tracker and the audit row each read the dossier in turn."""
    if instance.business_key is None:
        return None
    dossier = session.get(Dossier, instance.business_key)
    if dossier is None:
        return None
    session.info.setdefault(_HELD_DOSSIERS, {})[dossier.code] = dossier
    return dossier if dossier.process_instance_id == instance.id else None


def lock_instance_of_task(session: Session, task_id: str, *, for_update: bool) -> ProcessInstance | None:
    """The instance a task belongs to, re-read and (PostgreSQL) locked in one statement: the lock comes
    first, as in every command, and the task's own row is read only after it (see task_and_open_tasks)."""
    return session.scalars(_INSTANCE_OF_TASK[for_update], {"task_id": task_id}).first()


def task_and_open_tasks(session: Session, instance_id: str, task_id: str) -> Sequence[HumanTask]:
    """One task of an instance (whatever its status) with the instance's open tasks, in worklist order."""
    return session.scalars(_TASK_AND_OPEN_TASKS, {"instance_id": instance_id, "task_id": task_id}).all()


# Hot-path statements are built once: building a select costs about as much as running it from the cache.
_INSTANCE_OF_TASK_QUERY = (select(ProcessInstance)
                           .where(ProcessInstance.id == select(HumanTask.process_instance_id)
                                  .where(HumanTask.id == bindparam("task_id")).scalar_subquery())
                           .execution_options(populate_existing=True))
_INSTANCE_OF_TASK = {False: _INSTANCE_OF_TASK_QUERY,
                     True: _INSTANCE_OF_TASK_QUERY.with_for_update(of=ProcessInstance)}
_TASK_AND_OPEN_TASKS = (select(HumanTask)
                        .where(HumanTask.process_instance_id == bindparam("instance_id"),
                               or_(HumanTask.status == "open", HumanTask.id == bindparam("task_id")))
                        .order_by(HumanTask.created_at, HumanTask.id))
_TASKS = HumanTask.__table__
_CLOSE_TASK = (update(_TASKS).where(_TASKS.c.id == bindparam("b_id"))
               .values(status=bindparam("b_status"), completed_at=bindparam("b_at"), completed_by=bindparam("b_by")))
_INSERT_TASK = insert(_TASKS)
_INSERT_CANDIDATE_GROUP = insert(TaskCandidateGroup.__table__)
_TASK_COLUMNS = tuple(c.key for c in _TASKS.columns)


def close_tasks(session: Session, tasks: Sequence[HumanTask], status: str, at: datetime, by: str | None) -> None:
    """Completed or cancelled in one UPDATE; the loaded rows take the new values as their committed state,
    so the session has nothing left to flush for them."""
    if not tasks:
        return
    # One row per parameter set rather than an expanding IN (…): that form is compiled again on every run.
    session.execute(_CLOSE_TASK, [{"b_id": t.id, "b_status": status, "b_at": at, "b_by": by} for t in tasks])
    for task in tasks:
        set_committed_value(task, "status", status)
        set_committed_value(task, "completed_at", at)
        set_committed_value(task, "completed_by", by)


def insert_tasks(session: Session, tasks: Sequence[HumanTask]) -> None:
    """New worklist rows and their candidate groups as Core INSERTs, then attached to the session as
    persistent rows: a later change to one (e.g. a listener setting its due time) is still flushed."""
    if not tasks:
        return
    session.execute(_INSERT_TASK, [{c: getattr(t, c) for c in _TASK_COLUMNS} for t in tasks])
    groups = [{"task_id": t.id, "group_name": g} for t in tasks for g in t.candidate_groups]
    if groups:
        session.execute(_INSERT_CANDIDATE_GROUP, groups)
    for task in tasks:
        make_transient_to_detached(task)
        session.add(task)


_INSTANCES = ProcessInstance.__table__
_INSTANCE_COLUMNS = ("state", "variables", "updated_at", "status", "ended_at")
_UPDATE_INSTANCE = {
    columns: update(_INSTANCES).where(_INSTANCES.c.id == bindparam("b_id"),
                                      _INSTANCES.c.version == bindparam("b_version"))
    .values(version=bindparam("b_new_version"), **{c: bindparam(c) for c in columns})
    for columns in (_INSTANCE_COLUMNS[:3], _INSTANCE_COLUMNS)
}


def save_instance(session: Session, row: ProcessInstance, values: dict[str, Any]) -> None:
    """UPDATE … WHERE version = the version read, one Core statement; 0 rows means a concurrent writer won,
    raised as the ORM's own StaleDataError. The loaded row takes the new values as its committed state.

    A new row, or one the caller changed itself (e.g. a version migration), goes through the ORM flush,
    which applies the same version check."""
    state = inspect(row)
    if state.pending or state.transient or state.modified:
        for column, value in values.items():
            setattr(row, column, value)
        session.flush()
        return
    session.flush()  # the caller's other ORM changes (e.g. task rows reopened) go first, as the ORM did
    statement = _UPDATE_INSTANCE[tuple(values)]
    version = row.version
    result = session.execute(statement, {"b_id": row.id, "b_version": version, "b_new_version": version + 1,
                                         **values})
    if result.rowcount != 1:
        raise StaleDataError(f"process_instances row {row.id} was changed by another transaction "
                             f"(expected version {version})")
    for column, value in values.items():
        set_committed_value(row, column, value)
    set_committed_value(row, "version", version + 1)


def append_events(session: Session, events: list[Event]) -> None:
    """One executemany INSERT, without fetching ids back: history rows are never read in the same command.

    Core, not ORM, insert: the ORM's bulk insert leaves out None values, so rows with and without an actor
    would go out as two statements."""
    if events:
        session.execute(_INSERT_EVENT, [
            {"process_instance_id": e.process_instance_id, "at": e.at, "type": e.type, "element_id": e.element_id,
             "actor": e.actor, "data": e.data or {}} for e in events])


_INSERT_EVENT = insert(Event.__table__)


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
