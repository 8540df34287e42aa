"""Administrative operations on one instance (suspend, resume, terminate, move a token back), each audited."""

from datetime import datetime

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from app.engine import tokens
from app.engine.model import ProcessModel
from app.processes.due_dates import resolve_due
from app.processes.instances import InstanceService, _now
from app.processes.queries import views_of
from app.processes.views import InstanceView
from persistence.models import Event, HumanTask


class InstanceOperations:
    def __init__(self, instances: InstanceService) -> None:
        self.instances = instances

    def suspend(self, instance_id: str, *, reason: str | None, actor: str | None) -> InstanceView:
        with self.instances.command() as session:
            row = self.instances.set_suspended_in(session, instance_id, True, reason=reason, actor=actor)
            return views_of(session, [row])[0]

    def resume(self, instance_id: str, *, reason: str | None, actor: str | None) -> InstanceView:
        with self.instances.command() as session:
            row = self.instances.set_suspended_in(session, instance_id, False, reason=reason, actor=actor)
            return views_of(session, [row])[0]

    def terminate(self, instance_id: str, *, reason: str, actor: str | None) -> InstanceView:
        with self.instances.command() as session:
            row = self.instances.terminate_in(session, instance_id, reason=reason, actor=actor)
            return views_of(session, [row])[0]

    def move_token(self, instance_id: str, *, to_element_id: str, from_task_id: str | None,
                   reason: str | None, actor: str | None) -> InstanceView:
        with self.instances.command() as session:
            return self.move_token_in(session, instance_id, to_element_id=to_element_id,
                                      from_task_id=from_task_id, reason=reason, actor=actor)

    def move_token_in(self, session: Session, instance_id: str, *, to_element_id: str, from_task_id: str | None,
                      reason: str | None, actor: str | None) -> InstanceView:
        row, model, workflow, waited = self.instances._load(session, instance_id)
        reset_id = tokens.rewind(workflow, to_element_id, from_task_id)
        self.instances.engine.run(workflow)
        now = _now()
        events = [Event(process_instance_id=row.id, type="instance.token_moved", element_id=to_element_id,
                        actor=actor, at=now,
                        data={"taskId": reset_id, "fromTaskId": from_task_id, "reason": reason})]
        for task in _reopen_rows_of_reset_tasks(session, workflow, model, now):
            events.append(Event(process_instance_id=row.id, type="task.reopened", element_id=task.element_id,
                                actor=actor, at=now, data={"taskId": task.id}))
        return self.instances._save(session, row, model, workflow, events, actor, now, waited_before=waited)


def _reopen_rows_of_reset_tasks(session: Session, workflow: BpmnWorkflow, model: ProcessModel,
                                now: datetime) -> list[HumanTask]:
    """A reset task keeps its SpiffWorkflow id, so its finished worklist row opens again instead of a new one."""
    reopened = []
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        existing = session.get(HumanTask, str(task.id))
        if existing is None or existing.status == "open":
            continue
        info = model.elements.get(task.task_spec.bpmn_id)
        existing.status = "open"
        existing.created_at = now
        existing.completed_at = None
        existing.completed_by = None
        existing.assignee = info.assignee if info else None
        existing.due_at = resolve_due(info.due_date if info else None, now)
        reopened.append(existing)
    session.flush()
    return reopened
