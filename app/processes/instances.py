"""Commands on process instances: start, complete, claim, message, suspend, terminate.

Every command follows the same shape (ARCHITECTURE "one request, end to end"): load the instance row,
rebuild the workflow onto the cached spec, act, run engine steps, save the state with
`version = version + 1` (a concurrent writer makes the save fail and the command answer 409), then
replace the open-task and wait rows and append history events. The `*_in(session, ...)` forms let a
higher layer (dossiers) run the same command inside its own transaction; `listeners` are told of every
saved change in that same transaction.
"""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.engine import timers
from app.engine.model import ElementInfo, ProcessModel
from app.engine.runtime import ReadyTask, Snapshot, WorkflowEngine
from app.errors import Conflict, InvalidInput, NotFound
from app.processes.deployments import DeploymentService
from app.processes.due_dates import resolve_due
from app.processes.form_data import validate_submission
from app.processes.task_attributes import resolve_names, resolve_text
from app.processes.views import InstanceView, TaskView
from persistence import repositories as repo
from persistence.db import Database
from persistence.models import Event, HumanTask, ProcessDefinition, ProcessInstance, Wait

# deadlock_detected, serialization_failure
LOST_RACE_SQLSTATES = ("40P01", "40001")
MAX_STEPS_TO_OPEN = 20

# session.info key: {instance id: whether it waited on a timer before this command's change}, so a listener
# keeping timer jobs in step can skip its lookup when there was and is no timer.
TIMER_WAITS_BEFORE = "motcua_timer_waits_before"

# Called after every saved change of an instance, inside its transaction.
InstanceListener = Callable[[Session, ProcessInstance, list[HumanTask], list[Wait], datetime], None]
# The working-day calendar as seen inside a transaction (admin overrides included).
CalendarSource = Callable[[Session], timers.TimerCalendar]
# Runs inside a task completion once the instance is locked and the task read, before anything changes: may
# raise to refuse the command (the API's unit scoping of completions runs here, app/security/access.py).
CompletionGuard = Callable[[Session, ProcessInstance, HumanTask], None]


class _LazyCalendar:
    """Reads the calendar only when a timer or due date needs it; most commands never do."""

    def __init__(self, source: CalendarSource | None, session: Session) -> None:
        self._source, self._session, self._calendar = source, session, None

    def _get(self) -> timers.TimerCalendar:
        if self._calendar is None:
            self._calendar = self._source(self._session) if self._source else timers.WallClock()
        return self._calendar

    def deadline(self, start: datetime, working_days: float) -> datetime:
        return self._get().deadline(start, working_days)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        return self._get().add_working_hours(start, hours)


class InstanceService:
    def __init__(self, db: Database, engine: WorkflowEngine, deployments: DeploymentService) -> None:
        self.db = db
        self.engine = engine
        self.deployments = deployments
        self.listeners: list[InstanceListener] = []
        self.calendar_source: CalendarSource | None = None
        self.completion_guards: list[CompletionGuard] = []

    @contextmanager
    def command(self) -> Iterator[Session]:
        """A write transaction where a lost optimistic-lock race becomes 409."""
        try:
            with self.db.transaction() as session:
                yield session
        except StaleDataError as exc:
            raise Conflict("Hồ sơ vừa được người khác cập nhật; thao tác này không được ghi nhận") from exc
        except OperationalError as exc:
            # PostgreSQL picks a deadlock victim when two commands lock an instance's rows in different
            # orders (e.g. complete vs terminate); the victim rolled back whole, so it lost a race: 409.
            if getattr(exc.orig, "sqlstate", None) in LOST_RACE_SQLSTATES:
                raise Conflict("Hồ sơ vừa được người khác cập nhật; thao tác này không được ghi nhận") from exc
            raise

    # --- commands, each in its own transaction --------------------------------------------------

    def start(self, *, key: str | None = None, definition_id: str | None = None, business_key: str | None = None,
              variables: dict[str, Any] | None = None, actor: str | None = None) -> InstanceView:
        with self.command() as session:
            return self.start_in(session, key=key, definition_id=definition_id, business_key=business_key,
                                 variables=variables, actor=actor)

    def complete_task(self, task_id: str, variables: dict[str, Any], actor: str | None = None) -> InstanceView:
        with self.command() as session:
            return self.complete_in(session, task_id, variables, actor)

    def deliver_message(self, name: str, *, business_key: str | None = None, instance_id: str | None = None,
                        variables: dict[str, Any] | None = None, actor: str | None = None) -> InstanceView:
        with self.command() as session:
            return self.message_in(session, name, business_key=business_key, instance_id=instance_id,
                                   variables=variables or {}, actor=actor)

    def claim_task(self, task_id: str, assignee: str, actor: str | None = None) -> TaskView:
        with self.command() as session:
            task_row = self.task_row(session, task_id)
            if not repo.claim_task(session, task_id, assignee):
                raise Conflict(f"Bước '{task_row.element_id}' đã được nhận bởi người khác hoặc đã xong")
            session.add(Event(process_instance_id=task_row.process_instance_id, type="task.claimed",
                              element_id=task_row.element_id, actor=actor or assignee,
                              data={"taskId": task_id, "assignee": assignee}))
            session.refresh(task_row)
            return TaskView.of(task_row)

    # --- the same commands inside a caller's transaction ---------------------------------------

    def start_in(self, session: Session, *, key: str | None = None, definition_id: str | None = None,
                 business_key: str | None = None, variables: dict[str, Any] | None = None,
                 actor: str | None = None, now: datetime | None = None, open_at: str | None = None,
                 submit: dict[str, Any] | None = None) -> InstanceView:
        """`open_at`: complete the open tasks with `submit` (in memory, saved once) until a task of that element
        or `motcua:step` is open; InvalidInput `step_not_reached` (before anything is written) when the main path
        never stops there."""
        definition = self.definition(session, key, definition_id)
        model = self.deployments.model_of(session, definition.id)
        now = now or _now()
        workflow = self.engine.start(model, variables or {}, calendar=self._calendar(session), now=now)
        instance_id = str(uuid.uuid4())
        events = [Event(process_instance_id=instance_id, type="instance.started", actor=actor, at=now,
                        data={"definitionId": definition.id, "businessKey": business_key})]
        if open_at is not None:
            self.complete_until(self._calendar(session), instance_id, model, workflow, open_at, submit or {}, events,
                                 actor, now)
        row = ProcessInstance(
            id=instance_id, definition_id=definition.id, key=definition.key,
            definition_version=definition.version, business_key=business_key, status="running",
            state=b"", variables={}, created_at=now, updated_at=now,
        )
        session.add(row)
        _pin(session, row)
        return self._save(session, row, model, workflow, events, actor, now, waited_before=False)

    def complete_in(self, session: Session, task_id: str, variables: dict[str, Any],
                    actor: str | None = None) -> InstanceView:
        # Two reads instead of three: the instance (locked first, as in every command) found through the task,
        # then the task with the instance's other open tasks, which _sync_tasks needs anyway.
        row = repo.lock_instance_of_task(session, task_id, for_update=self.db.dialect == "postgresql")
        rows = {t.id: t for t in repo.task_and_open_tasks(session, row.id, task_id)} if row is not None else {}
        task_row = rows.pop(task_id, None)
        if row is None or task_row is None:
            raise NotFound(f"Không có bước xử lý '{task_id}'", field="id")
        for guard in self.completion_guards:
            guard(session, row, task_row)
        _pin(session, row)
        if task_row.status != "open":
            raise Conflict(f"Bước '{task_row.element_id}' đã được xử lý ({task_row.status})")
        validate_submission(task_row.form, variables, task_row.element_id)
        model, workflow, waited = self._loaded(session, row)
        now = _now()
        self.engine.complete_task(workflow, task_id, variables, calendar=self._calendar(session), now=now)
        repo.close_tasks(session, [task_row], "completed", now, actor)
        events = [Event(process_instance_id=row.id, type="task.completed", element_id=task_row.element_id,
                        actor=actor, at=now, data={"taskId": task_id, "variables": _jsonable(variables)})]
        return self._save(session, row, model, workflow, events, actor, now, open_before=list(rows.values()),
                          waited_before=waited)

    def message_in(self, session: Session, name: str, *, business_key: str | None, instance_id: str | None,
                   variables: dict[str, Any], actor: str | None) -> InstanceView:
        waiting = repo.message_waiters(session, name, business_key=business_key, instance_id=instance_id)
        if not waiting:
            raise NotFound(f"Không có hồ sơ nào đang chờ thông điệp '{name}'", code="no_waiting_instance",
                           field="messageName")
        if len(waiting) > 1:
            raise InvalidInput(f"Nhiều hồ sơ cùng chờ thông điệp '{name}'; hãy chỉ rõ businessKey hoặc "
                               "processInstanceId", code="ambiguous_correlation", field="businessKey")
        row, model, workflow, waited = self._load(session, waiting[0])
        now = _now()
        caught = self.engine.deliver_message(workflow, name, variables, calendar=self._calendar(session), now=now)
        if not caught:
            raise Conflict(f"Hồ sơ không còn chờ thông điệp '{name}'")
        events = [Event(process_instance_id=row.id, type="message.received", element_id=caught[0], actor=actor,
                        at=now, data={"messageName": name, "variables": _jsonable(variables)})]
        return self._save(session, row, model, workflow, events, actor, now, waited_before=waited)

    def fire_timer_in(self, session: Session, instance_id: str, element_id: str, *, due_at: datetime | None,
                      actor: str | None = None) -> InstanceView | None:
        """Fire a due timer; None when the instance no longer waits on it (already fired or moved on)."""
        row, model, workflow, waited = self._load(session, instance_id)
        now = _now()
        fired = self.engine.fire_timers(workflow, element_id, calendar=self._calendar(session), now=now)
        if not fired:
            return None
        events = [Event(process_instance_id=row.id, type="timer.fired", element_id=element_id, actor=actor, at=now,
                        data={"taskIds": fired, "dueAt": due_at.isoformat() if due_at else None})]
        return self._save(session, row, model, workflow, events, actor, now, waited_before=waited)

    def set_suspended_in(self, session: Session, instance_id: str, suspended: bool, *, reason: str | None,
                         actor: str | None) -> ProcessInstance:
        """Suspended instances keep their tasks, but nothing can move them until resumed."""
        row = self.instance_row(session, instance_id)
        expected, target = ("running", "suspended") if suspended else ("suspended", "running")
        if row.status != expected:
            raise Conflict(f"Phiên chạy đang ở trạng thái '{row.status}'")
        now = _now()
        row.status = target
        row.updated_at = now
        session.add(Event(process_instance_id=row.id, type=f"instance.{target}", actor=actor, at=now,
                          data={"reason": reason} if reason else {}))
        session.flush()
        self._notify(session, row, now)
        return row

    def terminate_in(self, session: Session, instance_id: str, *, reason: str, actor: str | None) -> ProcessInstance:
        """Stop an instance for good: open tasks cancelled, waits dropped, history kept."""
        row = self.instance_row(session, instance_id)
        if row.status not in ("running", "suspended"):
            raise Conflict(f"Phiên chạy đã kết thúc ({row.status})")
        now = _now()
        row.status = "terminated"
        row.ended_at = now
        row.updated_at = now
        session.flush()
        for task in repo.open_tasks_of(session, [row.id]):
            task.status = "cancelled"
            task.completed_at = now
        repo.replace_waits(session, row.id, [])
        session.add(Event(process_instance_id=row.id, type="instance.terminated", actor=actor, at=now,
                          data={"reason": reason}))
        session.flush()
        self._notify(session, row, now)
        return row

    def complete_until(self, calendar: timers.TimerCalendar, instance_id: str, model: ProcessModel, workflow: Any,
                       open_at: str, submit: dict[str, Any], events: list[Event], actor: str | None,
                       now: datetime) -> None:
        """Complete the ready tasks with `submit`, in memory, until one of element or `motcua:step` `open_at` is
        ready; `step_not_reached` when the main path never stops there."""
        for _ in range(MAX_STEPS_TO_OPEN):
            ready = self.engine.snapshot(model, workflow).ready_tasks
            if any(t.element_id == open_at or (t.info and t.info.properties.get("motcua:step") == open_at)
                   for t in ready):
                return
            if not ready:
                break
            task = ready[0]
            validate_submission(task.info.form if task.info else None, submit, task.element_id)
            self.engine.complete_task(workflow, task.id, submit, calendar=calendar, now=now)
            events.append(Event(process_instance_id=instance_id, type="task.completed", element_id=task.element_id,
                                actor=actor, at=now, data={"taskId": task.id, "variables": _jsonable(submit)}))
        raise InvalidInput(f"Quy trình hiện hành không dừng ở bước '{open_at}' trên đường xử lý chính",
                           code="step_not_reached", field="step")

    # --- shared pieces ----------------------------------------------------------------------------

    def task_row(self, session: Session, task_id: str) -> HumanTask:
        task_row = session.get(HumanTask, task_id)
        if task_row is None:
            raise NotFound(f"Không có bước xử lý '{task_id}'", field="id")
        return task_row

    def instance_row(self, session: Session, instance_id: str) -> ProcessInstance:
        row = session.get(ProcessInstance, instance_id)
        if row is None:
            raise NotFound(f"Không có phiên chạy '{instance_id}'", field="id")
        return row

    def definition(self, session: Session, key: str | None, definition_id: str | None = None) -> ProcessDefinition:
        """A definition by id, else the latest version of `key`; NotFound names the field."""
        if definition_id:
            definition = session.get(ProcessDefinition, definition_id)
            if definition is None:
                raise NotFound(f"Không có phiên bản quy trình '{definition_id}'", field="definitionId")
            return definition
        definition = repo.latest_definition(session, key or "")
        if definition is None:
            raise NotFound(f"Chưa triển khai quy trình có mã '{key}'", field="key")
        return definition

    def _calendar(self, session: Session) -> timers.TimerCalendar:
        return _LazyCalendar(self.calendar_source, session)

    def lock_in(self, session: Session, instance_id: str) -> ProcessInstance:
        """PostgreSQL: lock the instance row before anything else, so every command (people, worker, dossier
        actions) takes its locks in the same order (instance, then tasks, waits, jobs, dossier) and none can
        deadlock; the loser then sees the winner's state. The version check still guards SQLite."""
        row = session.get(ProcessInstance, instance_id, with_for_update=self.db.dialect == "postgresql",
                          populate_existing=True)
        if row is None:
            raise NotFound(f"Không có phiên chạy '{instance_id}'", field="id")
        _pin(session, row)
        return row

    def _load(self, session: Session, instance_id: str):
        row = self.lock_in(session, instance_id)
        return (row, *self._loaded(session, row))

    def _loaded(self, session: Session, row: ProcessInstance) -> tuple[ProcessModel, Any, bool]:
        """The model, the workflow rebuilt from the row, and whether it waits on any event: the instance's wait
        rows mirror exactly those waiting tasks (every save writes both in one transaction)."""
        if row.status != "running":
            raise Conflict(f"Phiên chạy đang ở trạng thái '{row.status}', không thể thao tác")
        model = self.deployments.model_of(session, row.definition_id)
        workflow = self.engine.load(model, row.state)
        return model, workflow, bool(workflow.event_manager.tasks)

    def _save(self, session: Session, row: ProcessInstance, model: ProcessModel, workflow: Any,
              events: list[Event], actor: str | None, now: datetime, *,
              open_before: list[HumanTask] | None = None, waited_before: bool = True) -> InstanceView:
        """`open_before`: the instance's open task rows, when the caller read them after the instance lock.
        `waited_before`: whether wait rows may exist (False skips replacing them when there are none to write)."""
        snapshot = self.engine.snapshot(model, workflow)
        values = self.state_values(workflow, snapshot, row.id, events, actor, now)
        if inspect(row).pending:
            open_before = []  # a row not inserted yet has no tasks; save_instance inserts it with version 1
        repo.save_instance(session, row, values)  # the version check: a concurrent writer → StaleDataError
        tasks = self._sync_tasks(session, row, snapshot, events, now, self._calendar(session), open_before)
        waits = wait_rows(row.id, snapshot)
        # Waiting on nothing before nor after: there are no wait rows to replace.
        replaced = repo.replace_waits(session, row.id, waits) if waits or waited_before else []
        session.info.setdefault(TIMER_WAITS_BEFORE, {})[row.id] = "timer" in replaced
        repo.append_events(session, events)
        for listener in self.listeners:
            listener(session, row, tasks, waits, now)
        session.flush()
        return InstanceView.of(row, row.definition_version, tasks, waits)

    def state_values(self, workflow: Any, snapshot: Snapshot, instance_id: str, events: list[Event],
                     actor: str | None, now: datetime) -> dict[str, Any]:
        """The process_instances columns a save writes (state, variables, and the end when it completed);
        `instance.completed` joins `events` then."""
        values: dict[str, Any] = {"state": self.engine.dump(workflow), "variables": _jsonable(snapshot.variables),
                                  "updated_at": now}
        if snapshot.status == "completed":
            values.update(status="completed", ended_at=now)
            events.append(Event(process_instance_id=instance_id, type="instance.completed", actor=actor, at=now))
        return values

    def _notify(self, session: Session, row: ProcessInstance, now: datetime) -> None:
        tasks = list(repo.open_tasks_of(session, [row.id]))
        waits = list(repo.waits_of(session, [row.id]))
        for listener in self.listeners:
            listener(session, row, tasks, waits, now)

    def _sync_tasks(self, session: Session, row: ProcessInstance, snapshot: Snapshot, events: list[Event],
                    now: datetime, calendar: timers.TimerCalendar,
                    open_before: list[HumanTask] | None = None) -> list[HumanTask]:
        if open_before is None:
            open_before = list(repo.open_tasks_of(session, [row.id]))
        existing = {t.id: t for t in open_before}
        ready_ids = {t.id for t in snapshot.ready_tasks}
        cancelled = [task for task_id, task in existing.items() if task_id not in ready_ids]
        repo.close_tasks(session, cancelled, "cancelled", now, None)
        events.extend(Event(process_instance_id=row.id, type="task.cancelled", element_id=task.element_id, at=now,
                            data={"taskId": task.id}) for task in cancelled)
        open_rows, new_rows = [], []
        for ready in snapshot.ready_tasks:
            if ready.id in existing:
                open_rows.append(existing[ready.id])
                continue
            task = new_task_row(row.id, ready, now, calendar, snapshot.variables, events)
            new_rows.append(task)
            open_rows.append(task)
        repo.insert_tasks(session, new_rows)
        return open_rows


def wait_rows(instance_id: str, snapshot: Snapshot) -> list[Wait]:
    return [Wait(process_instance_id=instance_id, kind=w.kind, name=w.name, element_id=w.element_id,
                 due_at=w.due_at) for w in snapshot.waits]


def new_task_row(instance_id: str, ready: ReadyTask, now: datetime, calendar: timers.TimerCalendar,
                 variables: dict[str, Any], events: list[Event]) -> HumanTask:
    """The worklist row of a task the engine made ready; `task.created` joins `events`."""
    events.append(Event(process_instance_id=instance_id, type="task.created", element_id=ready.element_id, at=now,
                        data={"taskId": ready.id}))
    info = ready.info
    return HumanTask(
        id=ready.id, process_instance_id=instance_id, element_id=ready.element_id,
        name=(info.name if info else None) or ready.name, lane=info.lane if info else None,
        lane_name=info.lane_name if info else None,
        candidate_groups=resolve_names(info.candidate_groups, ready.data) if info else [],
        candidate_users=resolve_names(info.candidate_users, ready.data) if info else [],
        assignee=resolve_text(info.assignee, ready.data) if info else None,
        form=_form_with_follow_up(info, ready.data, now),
        properties=dict(info.properties) if info else {}, status="open", created_at=now,
        due_at=_due_of(info, ready.data, now, calendar, variables),
        completed_at=None, completed_by=None, overdue_at=None,
    )


def _form_with_follow_up(info: ElementInfo | None, data: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    """camunda:followUpDate travels with the form: the task row has no column of its own for it."""
    if info is None:
        return None
    follow_up = resolve_due(resolve_text(info.follow_up_date, data), now)
    if follow_up is None:
        return info.form
    return {**(info.form or {"key": None, "fields": []}), "followUpAt": follow_up.isoformat()}


def _due_of(info: ElementInfo | None, data: dict[str, Any], now: datetime, calendar: timers.TimerCalendar,
            variables: dict[str, Any]) -> datetime | None:
    """camunda:dueDate when the diagram gives one (an expression is resolved on the task's data first), else the
    step budget `motcua:workdays` in working days."""
    if info is None:
        return None
    due = resolve_due(resolve_text(info.due_date, data), now, calendar, variables)
    budget = info.properties.get("motcua:workdays")
    if due is None and budget:
        due = resolve_due(f"workdays({budget})", now, calendar)
    return due


def _pin(session: Session, row: ProcessInstance) -> None:
    """The session's identity map holds clean rows weakly: once the command's locals are gone, the audit hook
    (which reads the status after the change) would SELECT the row again. Hold it until the session ends."""
    session.info.setdefault("motcua_pinned", []).append(row)


def _now() -> datetime:
    return datetime.now(UTC)


def _jsonable(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value, default=str))
