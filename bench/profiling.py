"""Optional cProfile of the SQLite service step: where a complete_task spends its time (--profile)."""

import cProfile
import io
import pstats
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import Meter, drive
from bench.service import ServiceLayer, migrated, open_services

TOP = 25


@dataclass
class ProfilingMeter(Meter):
    """Profiles only what the timed run times: the user-task completion rounds."""

    profiler: cProfile.Profile = field(default_factory=cProfile.Profile)

    @contextmanager
    def timed(self, steps: int) -> Iterator[None]:
        self.profiler.enable()
        try:
            yield
        finally:
            self.profiler.disable()


def profile_service(instances: int, out_dir: Path) -> str:
    """Profile the same round-by-round drive as the timed run; starts and the message round are left out."""
    with tempfile.TemporaryDirectory(prefix="motcua-bench-prof-") as tmp:
        services = open_services(migrated(f"sqlite:///{Path(tmp) / 'profile.db'}"))
        try:
            layer = ServiceLayer(services)
            drive(layer, 2, Meter())
            meter = ProfilingMeter()
            drive(layer, instances, meter)
        finally:
            services.close()
    text = _top(meter.profiler, "tottime") + "\n" + _top(meter.profiler, "cumulative")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "profile-service-sqlite.txt").write_text(text, encoding="utf-8")
    return text


def _top(profiler: cProfile.Profile, key: str) -> str:
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).strip_dirs().sort_stats(key).print_stats(TOP)
    return f"### by {key}\n{stream.getvalue()}"
