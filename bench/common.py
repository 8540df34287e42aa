"""What every layer shares: the reference path, the layer protocol, the meter and the path driver."""

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from app.engine.model import ProcessModel
from app.engine.parsing import SourceFile, parse_files

if TYPE_CHECKING:
    from app.container import Services

PROCESS_KEY = "reference_procedure"
MESSAGE_NAME = "moh_result"


class BenchError(RuntimeError):
    """An instance did not follow the expected path: the numbers would be meaningless."""


@dataclass(frozen=True)
class Step:
    element_id: str
    kind: Literal["task", "message"]
    variables: dict[str, Any]


# The approved path through the reference diagram: 5 user tasks and one message from the ministry.
PATH: tuple[Step, ...] = (
    Step("reception_check", "task", {"received_by": "bench", "documents": 3}),
    Step("commune_review", "task", {"commune_opinion": "xác nhận"}),
    Step("department_appraisal", "task", {"approved": True, "note": "đạt yêu cầu"}),
    Step("department_approval", "task", {"signed_by": "bench"}),
    Step(MESSAGE_NAME, "message", {"moh_code": "BYT-0001"}),
    Step("return_result", "task", {"returned": True}),
)
TASKS_PER_INSTANCE = sum(1 for s in PATH if s.kind == "task")


def reference_source() -> SourceFile:
    path = Path(str(files("workflows") / "bpmn" / f"{PROCESS_KEY}.bpmn"))
    return SourceFile(path.name, path.read_bytes())


def install_shipped(services: "Services") -> None:
    """What `make run` installs: the shipped units and procedures, and each shipped diagram as its own deployment
    (as `motcua deploy --shipped` does)."""
    from app.cli import shipped_diagrams

    services.catalogue.load_shipped()
    for path in shipped_diagrams():
        services.deployments.deploy([SourceFile(path.name, path.read_bytes())], actor="bench")


def reference_model() -> ProcessModel:
    """The parsed reference process, as the deployment service builds it (parsed once, then cached)."""
    for parsed in parse_files([reference_source()]):
        for model in parsed.processes:
            if model.key == PROCESS_KEY:
                return model
    raise BenchError(f"{PROCESS_KEY} not found in the shipped diagram")


H = TypeVar("H")


class Layer(Protocol[H]):
    """One way of running instances; a handle is whatever the layer needs to find an instance again."""

    def start(self, count: int) -> list[H]: ...

    def complete(self, handle: H, step: Step) -> H: ...

    def deliver(self, handle: H, step: Step) -> H: ...

    def finished(self, handle: H) -> bool: ...


@dataclass
class Meter:
    """Accumulates wall, in-process CPU and (optionally) database-server CPU over timed windows."""

    server_cpu: Callable[[], float] | None = None
    wall_s: float = 0.0
    cpu_s: float = 0.0
    server_cpu_s: float | None = None
    steps: int = 0

    @contextmanager
    def timed(self, steps: int) -> Iterator[None]:
        gc.collect()
        server0 = self.server_cpu() if self.server_cpu else None
        wall0, cpu0 = time.perf_counter(), time.process_time()
        yield
        self.wall_s += time.perf_counter() - wall0
        self.cpu_s += time.process_time() - cpu0
        if self.server_cpu is not None and server0 is not None:
            self.server_cpu_s = (self.server_cpu_s or 0.0) + self.server_cpu() - server0
        self.steps += steps


@dataclass
class Measurement:
    layer: str
    label: str
    steps: int
    instances: int
    wall_s: float
    cpu_s: float
    server_cpu_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_s / self.steps if self.steps else 0.0

    @property
    def server_ms(self) -> float | None:
        return None if self.server_cpu_s is None else 1000 * self.server_cpu_s / self.steps

    @property
    def total_cpu_ms(self) -> float:
        return self.cpu_ms + (self.server_ms or 0.0)


def drive(layer: Layer[H], count: int, meter: Meter) -> list[H]:
    """Start `count` instances (untimed), then walk all of them through PATH one round per step.

    Only user-task completions are timed and counted; the message round runs outside the meter.
    """
    handles = layer.start(count)
    for step in PATH:
        if step.kind == "message":
            handles = [layer.deliver(h, step) for h in handles]
            continue
        with meter.timed(len(handles)):
            handles = [layer.complete(h, step) for h in handles]
    unfinished = sum(1 for h in handles if not layer.finished(h))
    if unfinished:
        raise BenchError(f"{unfinished} of {count} instances did not finish the path")
    return handles


def measure(layer: Layer[H], label: str, name: str, instances: int, warmup: int,
            server_cpu: Callable[[], float] | None = None) -> tuple[Measurement, list[H]]:
    drive(layer, warmup, Meter())
    meter = Meter(server_cpu)
    handles = drive(layer, instances, meter)
    return Measurement(name, label, meter.steps, instances, meter.wall_s, meter.cpu_s, meter.server_cpu_s), handles
