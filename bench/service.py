"""The service step in-process: InstanceService commands on a fresh, migrated SQLite or PostgreSQL database."""

import itertools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from app.container import Services, build_services
from app.engine.model import ProcessModel
from app.engine.runtime import Snapshot, WorkflowEngine
from app.processes.views import InstanceView
from app.settings import Settings
from bench.common import PROCESS_KEY, BenchError, Measurement, Meter, Step, drive, measure, reference_source
from persistence.db import Database
from persistence.migrate import upgrade

T = TypeVar("T")


class TimedEngine(WorkflowEngine):
    """The service's engine, adding up the time InstanceService spends inside it (the rest is DB + ORM)."""

    def __init__(self, inner: WorkflowEngine) -> None:
        # Share the inner engine's state (its script engine) rather than build a new one in super().__init__.
        self.__dict__.update(inner.__dict__)
        self.busy_s = 0.0

    def _timed(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        began = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            self.busy_s += time.perf_counter() - began

    def load(self, model: ProcessModel, state: bytes) -> BpmnWorkflow:
        return self._timed(super().load, model, state)

    def dump(self, workflow: BpmnWorkflow) -> bytes:
        return self._timed(super().dump, workflow)

    def complete_task(self, workflow: BpmnWorkflow, task_id: str, variables: dict[str, Any], **kwargs: Any) -> Any:
        return self._timed(super().complete_task, workflow, task_id, variables, **kwargs)

    def snapshot(self, model: ProcessModel, workflow: BpmnWorkflow) -> Snapshot:
        return self._timed(super().snapshot, model, workflow)


@dataclass(frozen=True)
class ServiceHandle:
    instance_id: str
    task_id: str | None
    element_id: str | None
    status: str


class ServiceLayer:
    """One InstanceService transaction per step, exactly what the REST routes call."""

    def __init__(self, services: Services, first_number: int = 1) -> None:
        self.instances = services.instances
        self._numbers = itertools.count(first_number)
        self.engine = services.instances.engine if isinstance(services.instances.engine, TimedEngine) else None
        self.engine_s = 0.0  # engine time inside complete_task commands only

    def start(self, count: int) -> list[ServiceHandle]:
        return [self._handle(self.instances.start(key=PROCESS_KEY, business_key=f"bench-{next(self._numbers)}",
                                                  actor="bench"))
                for _ in range(count)]

    @staticmethod
    def _handle(view: InstanceView) -> ServiceHandle:
        task = view.open_tasks[0] if view.open_tasks else None
        return ServiceHandle(view.id, task.id if task else None, task.element_id if task else None, view.status)

    def complete(self, handle: ServiceHandle, step: Step) -> ServiceHandle:
        if handle.task_id is None or handle.element_id != step.element_id:
            raise BenchError(f"service: open task is {handle.element_id}, expected {step.element_id}")
        busy0 = self.engine.busy_s if self.engine else 0.0
        view = self.instances.complete_task(handle.task_id, step.variables, actor="bench")
        if self.engine:
            self.engine_s += self.engine.busy_s - busy0
        return self._handle(view)

    def deliver(self, handle: ServiceHandle, step: Step) -> ServiceHandle:
        view = self.instances.deliver_message(step.element_id, instance_id=handle.instance_id,
                                              variables=step.variables, actor="bench")
        return self._handle(view)

    def finished(self, handle: ServiceHandle) -> bool:
        return handle.status == "completed"


def migrated(url: str) -> str:
    db = Database(url)
    try:
        upgrade(db.engine)
    finally:
        db.dispose()
    return url


def open_services(url: str) -> Services:
    services = build_services(Settings(database_url=url))
    services.deployments.deploy([reference_source()], name="bench", actor="bench")
    return services


def history_bytes(services: Services, handles: list[ServiceHandle]) -> dict[str, Any]:
    """Per finished instance: the summed JSON length of its history entries (what GET …/history returns)."""
    # History moved from InstanceService to InstanceQueries (services.queries); accept either.
    history = getattr(services, "queries", services.instances).history
    sizes = [sum(len(e.model_dump_json(by_alias=True)) for e in history(h.instance_id)) for h in handles]
    events = len(history(handles[0].instance_id)) if handles else 0
    return {"median": statistics.median(sizes) if sizes else 0, "max": max(sizes, default=0),
            "events_per_instance": events}


def run_service(services: Services, label: str, instances: int, warmup: int,
                server_cpu: Callable[[], float] | None = None) -> tuple[Measurement, list[ServiceHandle]]:
    """Warm up, then measure on a fresh layer so the engine-time split covers the timed steps only."""
    services.instances.engine = TimedEngine(services.instances.engine)
    drive(ServiceLayer(services), warmup, Meter())
    layer = ServiceLayer(services, first_number=warmup + 1)
    measurement, handles = measure(layer, label, "service", instances, 0, server_cpu)
    engine_ms = 1000 * layer.engine_s / measurement.steps
    measurement.extra["engine_ms_per_step"] = engine_ms
    measurement.extra["outside_engine_ms_per_step"] = 1000 * measurement.wall_s / measurement.steps - engine_ms
    return measurement, handles
