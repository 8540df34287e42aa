"""Where a workflow's tokens are (per BPMN element) and moving one back to an earlier task."""

from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from app.errors import InvalidInput, NotFound

_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


def element_states(workflow: BpmnWorkflow) -> dict[str, str]:
    """BPMN element id → 'active' (a token is there now) or 'completed' (a token passed); others pending."""
    states: dict[str, str] = {}
    for task in workflow.get_tasks():
        element_id = getattr(task.task_spec, "bpmn_id", None)
        if not element_id:
            continue  # SpiffWorkflow's own helper specs (Start, End, boundary splits) have no BPMN element
        if task.state & _ACTIVE:
            states[element_id] = "active"
        elif task.state == TaskState.COMPLETED and states.get(element_id) != "active":
            states[element_id] = "completed"
    return states


def rewind(workflow: BpmnWorkflow, to_element_id: str, from_task_id: str | None = None) -> str:
    """Reset the workflow to the last completed task of `to_element_id` (an ancestor of `from_task_id`
    when given), dropping everything that came after it on that branch; return the reset task's id."""
    known = {spec.bpmn_id for spec in _all_specs(workflow) if getattr(spec, "bpmn_id", None)}
    if to_element_id not in known:
        raise InvalidInput(f"Sơ đồ không có phần tử '{to_element_id}'", code="unknown_element",
                           field="toElementId", element_id=to_element_id)
    origin = None
    if from_task_id is not None:
        try:
            origin = workflow.get_task_from_id(UUID(from_task_id))
        except (ValueError, KeyError, SpiffWorkflowException):
            origin = None
        if origin is None or not origin.state & _ACTIVE:
            raise NotFound(f"Phiên chạy không có bước đang mở '{from_task_id}'", field="fromTaskId")
    candidates = [t for t in workflow.get_tasks(state=TaskState.COMPLETED)
                  if t.task_spec.bpmn_id == to_element_id and (origin is None or origin.is_descendant_of(t))]
    if not candidates:
        raise InvalidInput(f"Phần tử '{to_element_id}' chưa từng được thực hiện trước bước hiện tại; chỉ có thể "
                           "đưa hồ sơ về một bước đã làm", code="element_not_reached", field="toElementId",
                           element_id=to_element_id)
    target = max(candidates, key=lambda t: t.last_state_change)
    workflow.reset_from_task_id(target.id)
    forget_dropped_waits(workflow)
    return str(target.id)


def forget_dropped_waits(workflow: BpmnWorkflow) -> None:
    """SpiffWorkflow 3.2 resets drop tasks from the tree but leave them in the event manager, where a dropped
    message catch would still look like something the instance waits for (and could even catch it)."""
    manager = workflow.event_manager
    for task_id, task in list(manager.tasks.items()):
        if task.workflow.tasks.get(task_id) is not task or task.state != TaskState.WAITING:
            manager.tasks.pop(task_id, None)


def _all_specs(workflow: BpmnWorkflow):
    yield from workflow.spec.task_specs.values()
    for spec in workflow.subprocess_specs.values():
        yield from spec.task_specs.values()
