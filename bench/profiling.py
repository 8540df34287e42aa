"""Optional cProfile of the service step (`python -m bench.run --profile`): where a complete_task spends its CPU.

Profiles the SQLite step, and the PostgreSQL step when PostgreSQL is reachable (there, the driver's layer also
holds the waits for the server). Besides the usual top entries, every function's own time is put
in one layer (the engine, SQLAlchemy, the database driver, our code, …) and shown as CPU ms per step beside the
raw SpiffWorkflow step: the table says which layers stand between the service step and the raw one.
"""

import cProfile
import io
import pstats
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench import pg
from bench.common import Meter, drive
from bench.service import ServiceLayer, migrated, open_services

TOP = 25
PROJECT = Path(__file__).resolve().parent.parent

# (layer, how a profiled function's file or built-in name shows it belongs there), first match wins
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SpiffWorkflow (engine)", ("/SpiffWorkflow/",)),
    ("SQLAlchemy (ORM, Core, compiled cache, result rows)", ("/sqlalchemy/",)),
    ("database driver (psycopg, sqlite3), with its waits for the server", ("/psycopg/", "/psycopg_binary/", "sqlite3.",
                                                          "_sqlite3", "psycopg")),
    ("RestrictedPython (script and condition sandbox)", ("/RestrictedPython/",)),
    ("pydantic (views, validation)", ("/pydantic/", "pydantic_core")),
    ("our code (app/, persistence/)", (f"{PROJECT}/app/", f"{PROJECT}/persistence/")),
    ("our API layer (api/: security, middlewares, responses)", (f"{PROJECT}/api/",)),
    ("HTTP (FastAPI, Starlette, uvicorn, anyio threads, httptools)", ("/fastapi/", "/starlette/", "/uvicorn/",
                                                                     "/anyio/", "httptools")),
    ("logging", ("/logging/",)),
    ("the bench driver", (f"{PROJECT}/bench/",)),
)
OTHER = "Python itself and the standard library (uuid, datetime, json, copy, …)"


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
            self.steps += steps


def layer_of(filename: str, function: str) -> str:
    where = filename if filename != "~" else function  # built-ins have no file: "{method 'execute' of …}"
    for layer, marks in LAYERS:
        if any(mark in where for mark in marks):
            return layer
    return OTHER


Key = tuple[str, int, str]


def layer_table(stats: pstats.Stats, steps: int) -> dict[str, float]:
    """ms per step spent in each layer's own code (a function's time without the functions it calls). Time in
    built-ins and the standard library goes to the layer that called them (SQLAlchemy's dict lookups are
    SQLAlchemy's cost), split by how much time each caller spent in them."""
    entries: dict[Key, tuple] = stats.stats  # type: ignore[attr-defined]
    per_layer: dict[str, float] = defaultdict(float)

    def charge(key: Key, seconds: float, depth: int) -> None:
        layer = layer_of(key[0], key[2])
        callers = entries[key][4] if key in entries else {}
        through = sum(timing[3] for timing in callers.values())
        if layer != OTHER or depth == 4 or through <= 0:
            per_layer[layer] += seconds
            return
        for caller, timing in callers.items():
            charge(caller, seconds * timing[3] / through, depth + 1)

    for key, (_cc, _nc, own, _cum, _callers) in entries.items():
        charge(key, own, 0)
    return {layer: 1000 * seconds / max(steps, 1) for layer, seconds in
            sorted(per_layer.items(), key=lambda item: -item[1])}


def profile_service(instances: int, out_dir: Path, raw_ms: float | None = None) -> str:
    """Profile the same round-by-round drive as the timed run; starts and the message round are left out."""
    parts = []
    with tempfile.TemporaryDirectory(prefix="motcua-bench-prof-") as tmp:
        parts.append(_profile("SQLite", migrated(f"sqlite:///{Path(tmp) / 'profile.db'}"), instances, raw_ms))
    admin = pg.admin_url()
    if pg.unreachable_reason(admin) is None:
        url = pg.create_database(admin)
        try:
            parts.append(_profile("PostgreSQL", migrated(url), instances, raw_ms))
        finally:
            pg.drop_database(admin, url)
    text = "\n".join(parts)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "profile-service.txt").write_text(text, encoding="utf-8")
    return text


def _profile(backend: str, url: str, instances: int, raw_ms: float | None) -> str:
    services = open_services(url)
    try:
        layer = ServiceLayer(services)
        drive(layer, 2, Meter())
        plain = Meter()
        drive(layer, instances, plain)
        meter = ProfilingMeter()
        drive(layer, instances, meter)
    finally:
        services.close()
    stats = pstats.Stats(meter.profiler)
    # On SQLite the step never waits (CPU is steadier on a busy machine); on PostgreSQL the waits are the point.
    clock, seconds = ("CPU", plain.cpu_s) if backend == "SQLite" else ("wall", plain.wall_s)
    step_ms = 1000 * seconds / max(plain.steps, 1)
    lines = [f"## Where the service step's time goes, {backend}: {step_ms:.3f} ms {clock} per step without the "
             f"profiler, split by the shares cProfile measured ({meter.steps} steps)", "",
             *layer_rows(layer_table(stats, meter.steps), step_ms, "time", "step", raw_ms)]
    if raw_ms:
        lines.append(f"\nThe raw SpiffWorkflow step (load, complete, run, save with its spec) measured {raw_ms:.3f} "
                     "CPU ms in this run.")
    return "\n".join(lines) + "\n\n" + top_entries(stats, "tottime") + "\n" + top_entries(stats, "cumulative")


def layer_rows(table: dict[str, float], measured_ms: float, what: str, per: str,
               raw_ms: float | None = None) -> list[str]:
    """A Markdown table of `layer_table`'s shares applied to `measured_ms`, the figure taken without a profiler:
    a profiler's own cost per call inflates the layers making many small calls most, so only its shares count."""
    total = sum(table.values())
    lines = [f"| layer (its own {what}, with the built-ins and standard library it calls) | share | ≈ ms per {per} |"
             + (" ÷ raw step |" if raw_ms else ""), "|---|--:|--:|" + ("--:|" if raw_ms else "")]
    for name, ms in table.items():
        estimate = measured_ms * ms / total
        lines.append(f"| {name} | {100 * ms / total:.0f}% | {estimate:.3f} |"
                     + (f" {estimate / raw_ms:.2f}× |" if raw_ms else ""))
    lines.append(f"| **all** | 100% | **{measured_ms:.3f}** |" + (f" {measured_ms / raw_ms:.2f}× |" if raw_ms else ""))
    return lines


def top_entries(stats: pstats.Stats, key: str) -> str:
    stream = io.StringIO()
    stats.stream = stream  # type: ignore[attr-defined]
    stats.strip_dirs().sort_stats(key).print_stats(TOP)
    return f"### by {key}\n{stream.getvalue()}"
