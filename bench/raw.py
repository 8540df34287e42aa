"""The floor: plain SpiffWorkflow, full JSON (spec included) deserialized and serialized at every step."""

from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition as CamundaMessageDefinition
from SpiffWorkflow.util.task import TaskState

from app.engine.model import ProcessModel
from bench.common import BenchError, Step


class RawLayer:
    """A handle is the instance's full SpiffWorkflow JSON, exactly what a naive service would store."""

    def __init__(self, model: ProcessModel, script_engine: PythonScriptEngine) -> None:
        self.model = model
        self.script_engine = script_engine
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG))

    def start(self, count: int) -> list[str]:
        return [self._start_one() for _ in range(count)]

    def _start_one(self) -> str:
        workflow = BpmnWorkflow(self.model.spec, self.model.subprocess_specs, script_engine=self.script_engine)
        workflow.do_engine_steps()
        return self.serializer.serialize_json(workflow)

    def _load(self, state: str) -> BpmnWorkflow:
        workflow = self.serializer.deserialize_json(state)
        workflow.script_engine = self.script_engine
        return workflow

    def complete(self, handle: str, step: Step) -> str:
        workflow = self._load(handle)
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        if len(ready) != 1 or ready[0].task_spec.bpmn_id != step.element_id:
            raise BenchError(f"raw: expected {step.element_id} ready, found {[t.task_spec.bpmn_id for t in ready]}")
        task = ready[0]
        task.data.update(step.variables)
        task.run()
        workflow.do_engine_steps()
        return self.serializer.serialize_json(workflow)

    def deliver(self, handle: str, step: Step) -> str:
        workflow = self._load(handle)
        if not deliver_message(workflow, step.element_id, step.variables):
            raise BenchError(f"raw: nobody caught message {step.element_id}")
        return self.serializer.serialize_json(workflow)

    def finished(self, handle: str) -> bool:
        return self._load(handle).is_completed()


def deliver_message(workflow: BpmnWorkflow, name: str, variables: dict[str, Any]) -> int:
    """What WorkflowEngine.deliver_message does, minus its bookkeeping; returns how many tasks caught it."""
    waiting = [t for t in workflow.event_manager.tasks.values()
               if isinstance(t.task_spec.event_definition, MessageEventDefinition)
               and t.task_spec.event_definition.name == name]
    if not waiting:
        return 0
    if isinstance(waiting[0].task_spec.event_definition, CamundaMessageDefinition):
        event = BpmnEvent(CamundaMessageDefinition(name), {"payload": dict(variables), "result_var": name})
    else:
        event = BpmnEvent(MessageEventDefinition(name), dict(variables))
    workflow.catch(event)
    caught = [t for t in waiting if t.state != TaskState.WAITING]
    for task in caught:
        task.data.update(variables)
    workflow.do_engine_steps()
    return len(caught)
