"""Many new instances at once (the legacy import), built in memory and written with one INSERT per table.

Instances of one definition moved to the same step, whose variables differ only in values the diagram never
names, run the engine once: the others are copies of that run with fresh task ids and their own values. What
the diagram never names it cannot read (expressions reach variables by name only; RestrictedPython offers no
locals() or globals()), so those values only ride along in the task data. Whether a name is named is a plain
search of the stored model for it: any mention (a condition, a script, a due-date expression, even a
documentation text) makes the value part of what must be equal to share a run.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.engine import serialization, timers
from app.engine.model import ProcessModel
from app.errors import MotcuaError
from app.processes.instances import TIMER_WAITS_BEFORE, InstanceService, new_task_row, wait_rows
from persistence import repositories as repo
from persistence.models import Event, HumanTask, ProcessDefinition, Wait

_TASK_COLUMNS = tuple(c.key for c in HumanTask.__table__.columns)


@dataclass
class Started:
    """A new instance built in memory: its process_instances row, open task rows, waits and history."""

    row: dict[str, Any]
    tasks: list[HumanTask]
    waits: list[Wait]
    events: list[Event]


@dataclass
class _Template:
    """One engine run whose own values (and business key) were marks, and every task id its state holds."""

    started: Started | None
    refusal: MotcuaError | None
    marks: dict[str, str]  # variable name (or BUSINESS_KEY) -> the mark that stood for its value
    ids: list[str]


BUSINESS_KEY = "\x00business_key"  # not a possible variable name


class BulkStarter:
    """For one transaction: one calendar and one `now` for all its instances (timers are due alike)."""

    def __init__(self, instances: InstanceService, calendar: timers.TimerCalendar, now: datetime) -> None:
        self.instances, self.calendar, self.now = instances, calendar, now
        self._templates: dict[Any, _Template] = {}
        self._model_text: dict[str, bytes] = {}

    def start(self, definition: ProcessDefinition, model: ProcessModel, *, business_key: str,
              variables: dict[str, Any], actor: str | None, open_at: str | None = None,
              submit: dict[str, Any] | None = None) -> Started:
        """What `InstanceService.start_in` would write (same engine run, task rows, waits, history events).
        Raises the engine's refusal, e.g. InvalidInput `step_not_reached`."""
        text = self._model_text.get(definition.id)
        if text is None:
            text = self._model_text[definition.id] = serialization.dump_model(model)
        own = {name: value for name, value in variables.items() if name.encode() not in text}
        shared = {name: value for name, value in variables.items() if name not in own}
        key = (definition.id, open_at, actor, tuple(sorted(own)), _json(shared), _json(submit or {}))
        template = self._templates.get(key)
        if template is None:
            template = self._templates[key] = self._template(definition, model, shared, own, actor, open_at, submit)
        if template.refusal is not None:
            raise template.refusal
        return _copy(template, {template.marks[BUSINESS_KEY]: business_key,
                                **{template.marks[name]: value for name, value in own.items()}})

    def insert(self, session: Session, started: list[Started]) -> None:
        """One INSERT per table. The instance listeners are NOT called: the caller writes what they would for a
        brand-new instance (the legacy import does; its test compares every table with one-by-one starts)."""
        if not started:
            return
        repo.insert_instances(session, [s.row for s in started])
        repo.insert_tasks(session, [t for s in started for t in s.tasks])
        repo.insert_waits(session, [w for s in started for w in s.waits])
        repo.append_events(session, [e for s in started for e in s.events])
        for s in started:
            session.info.setdefault(TIMER_WAITS_BEFORE, {})[s.row["id"]] = False

    def _template(self, definition: ProcessDefinition, model: ProcessModel, shared: dict[str, Any],
                  own: dict[str, Any], actor: str | None, open_at: str | None,
                  submit: dict[str, Any] | None) -> _Template:
        marks = {name: f"motcua-mark-{uuid.uuid4().hex}" for name in (*own, BUSINESS_KEY)}
        variables = {**shared, **{name: marks[name] for name in own}}
        try:
            started = self._run(definition, model, marks[BUSINESS_KEY], variables, actor, open_at, submit)
        except MotcuaError as exc:
            return _Template(None, exc, marks, [])
        ids = [started.row["id"], *serialization.task_ids(started.row["state"])]
        return _Template(started, None, marks, ids)

    def _run(self, definition: ProcessDefinition, model: ProcessModel, business_key: str,
             variables: dict[str, Any], actor: str | None, open_at: str | None,
             submit: dict[str, Any] | None) -> Started:
        engine, now, calendar = self.instances.engine, self.now, self.calendar
        workflow = engine.start(model, variables, calendar=calendar, now=now)
        instance_id = str(uuid.uuid4())
        events = [Event(process_instance_id=instance_id, type="instance.started", actor=actor, at=now,
                        data={"definitionId": definition.id, "businessKey": business_key})]
        if open_at is not None:
            self.instances.complete_until(calendar, instance_id, model, workflow, open_at, submit or {}, events,
                                          actor, now)
        snapshot = engine.snapshot(model, workflow)
        row = {"id": instance_id, "definition_id": definition.id, "key": definition.key,
               "definition_version": definition.version, "business_key": business_key, "status": "running",
               "version": 1, "created_at": now, "ended_at": None,
               **self.instances.state_values(workflow, snapshot, instance_id, events, actor, now)}
        tasks = [new_task_row(instance_id, ready, now, calendar, snapshot.variables, events)
                 for ready in snapshot.ready_tasks]
        return Started(row, tasks, wait_rows(instance_id, snapshot), events)


def _copy(template: _Template, values: dict[str, Any]) -> Started:
    """The template's instance with fresh task ids, each mark replaced by its instance's own value."""
    started = template.started
    assert started is not None
    ids = {old: str(uuid.uuid4()) for old in template.ids}
    state = started.row["state"]
    for old, new in ids.items():  # random UUIDs: wherever one stands in the state, it is that task's id
        state = state.replace(old.encode(), new.encode())
    for mark, value in values.items():  # untouched by the diagram, a mark stands only as a whole JSON value
        state = state.replace(orjson.dumps(mark), orjson.dumps(value, default=str))
    swap = {**ids, **values}
    instance_id = swap[started.row["id"]]
    row = {**started.row, "id": instance_id, "business_key": values[template.marks[BUSINESS_KEY]],
           "state": state, "variables": _swapped(started.row["variables"], swap)}
    tasks = [HumanTask(**{c: _fresh(getattr(t, c)) for c in _TASK_COLUMNS}) for t in started.tasks]
    for task in tasks:
        task.id, task.process_instance_id = swap[task.id], instance_id
    waits = [Wait(process_instance_id=instance_id, kind=w.kind, name=w.name, element_id=w.element_id,
                  due_at=w.due_at) for w in started.waits]
    events = [Event(process_instance_id=instance_id, type=e.type, element_id=e.element_id, actor=e.actor, at=e.at,
                    data=_swapped(e.data, swap)) for e in started.events]
    return Started(row, tasks, waits, events)


def _fresh(value: Any) -> Any:
    """A copy of a task column's value, one level deep: nothing changes these values in place once built."""
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def _json(value: dict[str, Any]) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str)


def _swapped(value: Any, swap: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return swap.get(value, value)
    if isinstance(value, dict):
        return {k: _swapped(v, swap) for k, v in value.items()}
    if isinstance(value, list):
        return [_swapped(v, swap) for v in value]
    return value
