"""Start and advance workflows in memory and describe them; persistence is the caller's business."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition as CamundaMessageDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from app.engine import serialization, timers
from app.engine.model import ElementInfo, ProcessModel
from app.engine.normalise import drawn_id
from app.engine.scripting import ExpressionRejected, RestrictedEnvironment
from app.engine.timer_events import BranchTimer, RepeatingTimer
from app.errors import Conflict, ScriptError

# A rework loop or a cycle of gateways must not spin for ever inside one request.
MAX_ENGINE_STEPS = 10_000
# SpiffWorkflow's task iterator stops at depth 1000: deeper tasks are invisible, so a long rework loop
# silently stalls and the instance even reports itself completed. Below this many tasks it cannot happen.
ITERATOR_DEPTH_GUARD = 900
_LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
# The calendar and clock of the command being run, read when a timer starts waiting. A context
# variable rather than engine state: one engine serves all requests and threads.
_CLOCK: ContextVar[tuple[timers.TimerCalendar, datetime | None]] = ContextVar(
    "motcua_timer_clock", default=(timers.WallClock(), None))


class _CalendarScriptEngine(PythonScriptEngine):
    """Evaluates timer definitions with app.engine.timers (working days, unquoted ISO) into absolute due times."""

    def evaluate(self, task: Any, expression: str, external_context: dict | None = None) -> Any:
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, MultipleEventDefinition):  # a gateway's timer in a spec stored before BranchTimer
            definition = next((d for d in definition.event_definitions
                               if getattr(d, "expression", None) == expression), definition)
        if isinstance(definition, TimeDateEventDefinition | DurationTimerEventDefinition) \
                and expression == definition.expression:
            _, due = self.timer_due(task, expression, external_context)
            if isinstance(definition, DurationTimerEventDefinition):
                # specs deployed before timers became absolute still expect a duration
                return f"PT{max((due - datetime.now(UTC)).total_seconds(), 0.0):.6f}S"
            return due.isoformat()
        return super().evaluate(task, expression, external_context)

    def timer_due(self, task: Any, expression: str, external_context: dict | None = None, *,
                  cycle: bool = False) -> tuple[timers.TimerExpression, datetime]:
        """The timer read with the command's calendar and clock, and its (first) due time."""
        calendar, now = _CLOCK.get()
        try:
            parsed = timers.parse(expression)
            if parsed.kind == "expression":
                parsed = timers.parse(str(super().evaluate(task, parsed.value, external_context)))
            if cycle and parsed.kind != "cycle":
                raise timers.InvalidTimer(f"timeCycle cần chu kỳ lặp (ví dụ R3/PT1H), không phải '{parsed.value}'")
            return parsed, parsed.due(now or datetime.now(UTC), calendar, dict(task.data))
        except (timers.InvalidTimer, ValueError) as exc:
            raise ScriptError(f"Hẹn giờ '{task.task_spec.bpmn_id}': {exc}", element_id=task.task_spec.bpmn_id,
                              code="invalid_timer") from exc


@contextmanager
def _clock(calendar: timers.TimerCalendar | None, now: datetime | None) -> Iterator[None]:
    token = _CLOCK.set((calendar or timers.WallClock(), now))
    try:
        yield
    finally:
        _CLOCK.reset(token)


@dataclass(frozen=True)
class ReadyTask:
    id: str
    element_id: str
    name: str | None
    info: ElementInfo | None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WaitPoint:
    kind: str  # message | timer | signal | other
    name: str | None
    element_id: str
    due_at: datetime | None = None


@dataclass
class Snapshot:
    status: str  # running | completed
    variables: dict[str, Any]
    ready_tasks: list[ReadyTask] = field(default_factory=list)
    waits: list[WaitPoint] = field(default_factory=list)


class WorkflowEngine:
    def __init__(self, script_timeout_seconds: float = 1.0) -> None:
        self.script_engine = _CalendarScriptEngine(environment=RestrictedEnvironment(script_timeout_seconds))

    # Every method that may start a timer takes the calendar (working days) and the command's clock.

    def start(self, model: ProcessModel, variables: dict[str, Any] | None = None, *,
              calendar: timers.TimerCalendar | None = None, now: datetime | None = None) -> BpmnWorkflow:
        workflow = BpmnWorkflow(model.spec, model.subprocess_specs, script_engine=self.script_engine)
        if variables:
            workflow.task_tree.data.update(variables)
            start = workflow.get_next_task(state=TaskState.READY)
            if start is not None:
                start.data.update(variables)
        with _clock(calendar, now):
            self.run(workflow)
        return workflow

    def load(self, model: ProcessModel, state: bytes) -> BpmnWorkflow:
        return serialization.load_state(model, state, self.script_engine)

    def dump(self, workflow: BpmnWorkflow) -> bytes:
        return serialization.dump_state(workflow)

    def run(self, workflow: BpmnWorkflow, *, calendar: timers.TimerCalendar | None = None,
            now: datetime | None = None) -> list[Any]:
        """Run engine steps until only people or events can move the instance; return what ran."""
        if calendar is not None or now is not None:
            with _clock(calendar, now):
                return self.run(workflow)
        ran: list[Any] = []

        def count(task: Any) -> None:
            ran.append(task)
            if len(ran) > MAX_ENGINE_STEPS:
                raise ScriptError(f"Quy trình chạy quá {MAX_ENGINE_STEPS} bước tự động liên tiếp (vòng lặp?)",
                                  element_id=task.task_spec.bpmn_id)

        try:
            workflow.do_engine_steps(did_complete_task=count)
        except ScriptError:
            raise
        except (SpiffWorkflowException, ExpressionRejected, RecursionError) as exc:
            element_id = _element_of(exc)
            raise ScriptError(f"Lỗi khi chạy sơ đồ tại '{element_id}': {_message(exc)}",
                              element_id=element_id) from exc
        _refuse_hidden_tasks(workflow)
        return ran

    def complete_task(self, workflow: BpmnWorkflow, task_id: str, variables: dict[str, Any], *,
                      calendar: timers.TimerCalendar | None = None, now: datetime | None = None) -> Any:
        task = self._ready_human_task(workflow, task_id)
        task.data.update(variables)
        with _clock(calendar, now):
            try:
                task.run()
            except ScriptError:
                raise
            except (SpiffWorkflowException, ExpressionRejected) as exc:
                raise ScriptError(f"Lỗi khi hoàn thành bước '{task.task_spec.bpmn_id}': {_message(exc)}",
                                  element_id=task.task_spec.bpmn_id) from exc
            self.run(workflow)
        return task

    def fire_timers(self, workflow: BpmnWorkflow, element_id: str, *, calendar: timers.TimerCalendar | None = None,
                    now: datetime | None = None) -> list[str]:
        """Fire the timers of `element_id` this instance waits on, whatever the wall clock says; return their ids.

        The scheduler decides when a timer is due (its own clock, its own claim); the engine only obeys.
        """
        waiting = []
        for task in workflow.event_manager.tasks.values():
            for definition, branch in _branches(task):
                if isinstance(definition, TimerEventDefinition) and branch == element_id:
                    waiting.append((task, definition))
        if not waiting:
            return []
        for task, definition in waiting:
            if isinstance(definition, BranchTimer | RepeatingTimer):
                definition.fire(task)
            else:
                task._set_internal_data(event_fired=True)
        with _clock(calendar, now):
            workflow.refresh_timers()
            self.run(workflow)
        return [str(task.id) for task, _ in waiting]

    def deliver_message(self, workflow: BpmnWorkflow, name: str, variables: dict[str, Any], *,
                        calendar: timers.TimerCalendar | None = None, now: datetime | None = None) -> list[str]:
        """Deliver a message to every task of this instance waiting for it; return their element ids."""
        waiting = [(task, definition, branch) for task in workflow.event_manager.tasks.values()
                   for definition, branch in _branches(task)
                   if isinstance(definition, MessageEventDefinition) and definition.name == name]
        if not waiting:
            return []
        if isinstance(waiting[0][1], CamundaMessageDefinition):
            payload: dict[str, Any] = {"payload": dict(variables), "result_var": name}
            event = BpmnEvent(CamundaMessageDefinition(name), payload)
        else:
            event = BpmnEvent(MessageEventDefinition(name), dict(variables))
        with _clock(calendar, now):
            workflow.catch(event)
            caught = [(task, branch) for task, _, branch in waiting if task.state != TaskState.WAITING]
            for task, _ in caught:
                task.data.update(variables)
            self.run(workflow)
        return [branch for _, branch in caught]

    def snapshot(self, model: ProcessModel, workflow: BpmnWorkflow) -> Snapshot:
        ready = [
            ReadyTask(str(t.id), t.task_spec.bpmn_id, t.task_spec.bpmn_name,
                      model.elements.get(t.task_spec.bpmn_id), dict(t.data))
            for t in workflow.get_tasks(state=TaskState.READY, manual=True)
        ]
        waits = []
        for task in workflow.event_manager.tasks.values():
            for definition, branch in _branches(task):
                due = None
                if isinstance(definition, MessageEventDefinition):
                    kind = "message"
                elif isinstance(definition, TimerEventDefinition):
                    kind = "timer"
                    if isinstance(definition, BranchTimer | RepeatingTimer):
                        due = definition.due(task)
                        if due is None and isinstance(definition, RepeatingTimer):
                            continue  # every repetition has fired: nothing left to wait for
                    else:
                        due = _parse_due(task._get_internal_data("event_value"))
                else:
                    kind = definition.__class__.__name__.replace("EventDefinition", "").lower() or "other"
                waits.append(WaitPoint(kind, getattr(definition, "name", None), branch, due))
        return Snapshot(
            status="completed" if workflow.is_completed() else "running",
            variables=_variables(workflow),
            ready_tasks=ready,
            waits=waits,
        )

    @staticmethod
    def _ready_human_task(workflow: BpmnWorkflow, task_id: str) -> Any:
        try:
            task = workflow.get_task_from_id(UUID(task_id))
        except (SpiffWorkflowException, ValueError, KeyError):
            task = None
        if task is None or not task.task_spec.manual or task.state != TaskState.READY:
            raise Conflict(f"Bước '{task_id}' không còn chờ xử lý")
        return task


def _branches(task: Any) -> list[tuple[Any, str]]:
    """(event definition, element id) of each event a waiting task waits for: an event-based gateway (or a
    multiple event) waits for several, each reported under the element the author drew for it."""
    definition = task.task_spec.event_definition
    if not isinstance(definition, MultipleEventDefinition):
        return [(definition, task.task_spec.bpmn_id)]
    return [(d, d.branch if isinstance(d, BranchTimer) else _branch_of(task.task_spec, i))
            for i, d in enumerate(definition.event_definitions)]


def _branch_of(spec: Any, index: int) -> str:
    if isinstance(spec, EventBasedGateway) and index < len(spec.outputs):
        return spec.outputs[index].bpmn_id
    return spec.bpmn_id


def _refuse_hidden_tasks(workflow: BpmnWorkflow) -> None:
    all_workflows = [workflow, *workflow.subprocesses.values()]
    if sum(len(w.tasks) for w in all_workflows) < ITERATOR_DEPTH_GUARD:
        return
    visible = {t.id for t in workflow.get_tasks(state=_LIVE)}
    for wf in all_workflows:
        for task in wf.tasks.values():
            if task.state & _LIVE and task.id not in visible:
                raise ScriptError(
                    f"Vòng lặp xử lý lại tại '{drawn_id(task.task_spec.bpmn_id)}' đã quá sâu để động cơ theo dõi; "
                    "hãy thiết kế lại vòng lặp (ví dụ dùng quy trình con) hoặc giới hạn số lần lặp",
                    element_id=drawn_id(task.task_spec.bpmn_id), code="loop_too_deep")


def _variables(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The data a person would call 'the instance variables': the last finished step's, or the open steps'."""
    if workflow.is_completed():
        ends = workflow.get_tasks(state=TaskState.COMPLETED, end_at_spec="End")
        source = workflow.last_task or (ends[-1] if ends else workflow.task_tree)
        data = dict(source.data)
    else:
        data = {}
        for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED):
            data.update(task.data)
        if not data and workflow.last_task is not None:
            data = dict(workflow.last_task.data)
    return {k: v for k, v in data.items() if not k.startswith("_") and not callable(v)}


def _parse_due(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _element_of(exc: BaseException) -> str | None:
    task = getattr(exc, "task", None)
    if task is not None:
        return drawn_id(task.task_spec.bpmn_id)
    spec = getattr(exc, "task_spec", None)
    return drawn_id(getattr(spec, "bpmn_id", None))


def _message(exc: BaseException) -> str:
    inner = getattr(exc, "error", None) or getattr(exc, "exception", None)
    text = str(exc)
    if isinstance(inner, ExpressionRejected):
        text = str(inner)
    return text[:500]
