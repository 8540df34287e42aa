"""Timer event definitions SpiffWorkflow lacks in a schedulable form; swapped in at deploy (parsing) and known to
the serializer (serialization).

- BranchTimer: a timer branch of an event-based gateway (or of a multiple catch event). SpiffWorkflow keeps all
  branches' events on the gateway's one task, so its timers would share one due time; each branch keeps its
  own here, keyed by the branch's element id, and can be fired alone.
- RepeatingTimer: `timeCycle` on a non-interrupting boundary event. Each occurrence is fired like any timer
  (by the scheduler's job, or the wall clock) and schedules the next until the repetitions are used up.

Both read their due times through the workflow's script engine (`timer_due`), i.e. with the command's
calendar and clock.
"""

import copy
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.util.task import TaskState

from app.engine import timers


class BranchTimer(TimeDateEventDefinition):
    def __init__(self, name: str, expression: str, branch: str, **kwargs: Any) -> None:
        super().__init__(name, expression, **kwargs)
        self.branch = branch

    def has_fired(self, my_task: Any) -> bool:
        due = self.due(my_task)
        if due is None:
            _, due = my_task.workflow.script_engine.timer_due(my_task, self.expression)
            my_task._set_internal_data(**{f"event_value:{self.branch}": due.isoformat()})
        return bool(my_task._get_internal_data(f"event_fired:{self.branch}")) or due < datetime.now(UTC)

    def fire(self, my_task: Any) -> None:
        my_task._set_internal_data(**{f"event_fired:{self.branch}": True})

    def due(self, my_task: Any) -> datetime | None:
        value = my_task._get_internal_data(f"event_value:{self.branch}")
        return datetime.fromisoformat(value) if value else None

    def __eq__(self, other: object) -> bool:
        # the gateway finds the branch to take by equality: two timers of one gateway must differ
        return super().__eq__(other) and self.branch == getattr(other, "branch", None)


class RepeatingTimer(CycleTimerEventDefinition):
    def cycle_complete(self, my_task: Any) -> bool:
        """True when an occurrence is due (SpiffWorkflow then starts one more token on the outgoing flow)."""
        value = my_task._get_internal_data("event_value")
        if value is None:
            parsed, first = my_task.workflow.script_engine.timer_due(my_task, self.expression, cycle=True)
            value = {"cycles": parsed.cycle().repetitions or -1, "next": first.isoformat(),
                     "interval": parsed.cycle().interval}
        due = datetime.fromisoformat(value["next"])
        ready = value["cycles"] != 0 and (bool(my_task._get_internal_data("cycle_due")) or due < datetime.now(UTC))
        if ready:
            cycle = timers.Cycle(None, None, value["interval"])
            # counted from the due time, not the firing: a late worker does not shift the whole series
            value = {**value, "cycles": value["cycles"] - 1, "next": cycle.after(due).isoformat()}
        my_task.internal_data.pop("cycle_due", None)
        my_task._set_internal_data(event_value=value)
        return ready

    def update_task(self, my_task: Any) -> None:
        """Each occurrence leaves a finished copy of the boundary event with the new token under it, as a single
        non-interrupting timer would. SpiffWorkflow hangs the tokens under the still-waiting event instead, and
        the activity's end, which cancels that event, would take every reminder already sent with it."""
        if not self.cycle_complete(my_task):
            return
        occurrence = my_task.parent._add_child(my_task.task_spec, TaskState.COMPLETED)
        occurrence.data = copy.deepcopy(my_task.data)
        for output in my_task.task_spec.outputs:
            child = occurrence._add_child(output, TaskState.FUTURE)
            child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)
            child.task_spec._update(child)

    def fire(self, my_task: Any) -> None:
        my_task._set_internal_data(cycle_due=True)

    def due(self, my_task: Any) -> datetime | None:
        """The next occurrence; None once the repetitions are used up (the event then waits for nothing)."""
        value = my_task._get_internal_data("event_value")
        if not value or value["cycles"] == 0:
            return None
        return datetime.fromisoformat(value["next"])


def timer_starts(spec: Any) -> list[tuple[str, str]]:
    """(element id, timer text) of each timer start event of the process itself (not of its subprocesses)."""
    return [(task_spec.bpmn_id, task_spec.event_definition.expression) for task_spec in spec.task_specs.values()
            if isinstance(task_spec, StartEvent) and isinstance(task_spec.event_definition, TimerEventDefinition)]


class BranchTimerConverter(TimerConditionalEventDefinitionConverter):
    def to_dict(self, event_definition: BranchTimer) -> dict[str, Any]:
        return {**super().to_dict(event_definition), "branch": event_definition.branch}


CONVERTERS = {BranchTimer: BranchTimerConverter, RepeatingTimer: TimerConditionalEventDefinitionConverter}
