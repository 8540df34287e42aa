"""motcua's WorkflowEngine without a database, and the saved-state size against SpiffWorkflow's full JSON."""

import statistics
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from app.engine import serialization
from app.engine.model import ProcessModel
from app.engine.runtime import Snapshot, WorkflowEngine
from bench.common import PATH, BenchError, Step


@dataclass(frozen=True)
class EngineHandle:
    state: bytes
    task_id: str | None
    completed: bool


class EngineLayer:
    """load(model, state) -> act -> snapshot -> dump, with the model object reused: the spec is never re-parsed."""

    def __init__(self, model: ProcessModel, engine: WorkflowEngine) -> None:
        self.model = model
        self.engine = engine

    def start(self, count: int) -> list[EngineHandle]:
        return [self._save(self.engine.start(self.model, {})) for _ in range(count)]

    def _save(self, workflow: BpmnWorkflow) -> EngineHandle:
        snapshot = self.engine.snapshot(self.model, workflow)
        task_id = snapshot.ready_tasks[0].id if snapshot.ready_tasks else None
        return EngineHandle(self.engine.dump(workflow), task_id, snapshot.status == "completed")

    def complete(self, handle: EngineHandle, step: Step) -> EngineHandle:
        if handle.task_id is None:
            raise BenchError(f"engine: no open task where {step.element_id} was expected")
        workflow = self.engine.load(self.model, handle.state)
        task = self.engine.complete_task(workflow, handle.task_id, step.variables)
        if task.task_spec.bpmn_id != step.element_id:
            raise BenchError(f"engine: completed {task.task_spec.bpmn_id}, expected {step.element_id}")
        return self._save(workflow)

    def deliver(self, handle: EngineHandle, step: Step) -> EngineHandle:
        workflow = self.engine.load(self.model, handle.state)
        if not self.engine.deliver_message(workflow, step.element_id, step.variables):
            raise BenchError(f"engine: nobody caught message {step.element_id}")
        return self._save(workflow)

    def finished(self, handle: EngineHandle) -> bool:
        return handle.completed


@dataclass(frozen=True)
class SizePoint:
    after: str
    ours: int
    full: int


def state_sizes(model: ProcessModel, engine: WorkflowEngine) -> list[SizePoint]:
    """Bytes of engine.dump vs serialization.full_spiff_json for one instance after start and each step."""
    workflow = engine.start(model, {})
    points = [SizePoint("start", len(engine.dump(workflow)), _full_bytes(workflow))]
    for step in PATH:
        if step.kind == "message":
            engine.deliver_message(workflow, step.element_id, step.variables)
        else:
            engine.complete_task(workflow, _ready_id(engine.snapshot(model, workflow), step), step.variables)
        workflow = engine.load(model, engine.dump(workflow))  # what the next command would see
        points.append(SizePoint(step.element_id, len(engine.dump(workflow)), _full_bytes(workflow)))
    return points


def size_summary(points: list[SizePoint]) -> dict[str, Any]:
    ours = [p.ours for p in points]
    full = [p.full for p in points]
    return {
        "ours_median": statistics.median(ours), "ours_max": max(ours),
        "full_median": statistics.median(full), "full_max": max(full),
        "ratio_median": statistics.median(ours) / statistics.median(full),
        "ratio_max": max(ours) / max(full),
    }


def _full_bytes(workflow: BpmnWorkflow) -> int:
    return len(serialization.full_spiff_json(workflow).encode("utf-8"))


def _ready_id(snapshot: Snapshot, step: Step) -> str:
    for ready in snapshot.ready_tasks:
        if ready.element_id == step.element_id:
            return ready.id
    raise BenchError(f"sizes: {step.element_id} is not ready")
