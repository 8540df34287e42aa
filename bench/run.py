"""Entry point: `python -m bench.run [--steps N] [--quick] [--no-postgres] [--profile]` (`make bench`)."""

import argparse
import math
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from sqlalchemy.engine import make_url

from app.engine.model import ProcessModel
from app.engine.runtime import WorkflowEngine
from bench import pg
from bench.common import TASKS_PER_INSTANCE, Measurement, measure, reference_model
from bench.engine import EngineLayer, size_summary, state_sizes
from bench.raw import RawLayer
from bench.report import RESULTS_DIR, machine_info, payload, render, write_results
from bench.service import history_bytes, migrated, open_services, run_service

DEFAULT_STEPS = 1_500  # timed user-task completions per layer: ~30-60 s in all on a 2-core machine
QUICK_STEPS = 50
WARMUP_INSTANCES = 10


@dataclass
class Run:
    """What one bench run collects as it goes."""

    instances: int
    warmup: int
    results: list[Measurement] = field(default_factory=list)
    history: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, measurement: Measurement) -> None:
        self.results.append(measurement)
        m = measurement
        _log(f"  {m.label}: {m.steps} steps in {m.wall_s:.2f} s = {m.steps_per_s:.1f} steps/s, "
             f"{m.total_cpu_ms:.3f} CPU ms/step")
        if "engine_ms_per_step" in m.extra:
            self.notes.append(
                f"{m.label}: {1000 * m.wall_s / m.steps:.2f} ms wall per step, of which "
                f"{m.extra['engine_ms_per_step']:.2f} ms inside WorkflowEngine (load, complete_task, snapshot, "
                f"dump) and {m.extra['outside_engine_ms_per_step']:.2f} ms in InstanceService, SQLAlchemy and "
                "the database.")


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                        help=f"timed user-task completions per layer (default {DEFAULT_STEPS}; "
                             f"{TASKS_PER_INSTANCE} per instance)")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_STEPS} steps, tiny warm-up")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL service layer")
    parser.add_argument("--timers", type=int, default=0,
                        help="also fire this many due timers with 2 worker processes on PostgreSQL (bench.timers)")
    parser.add_argument("--profile", action="store_true",
                        help="afterwards, cProfile the service step (SQLite, and PostgreSQL if reachable): time "
                             "per layer and the top entries")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    return args


def bench_in_memory(run: Run, model: ProcessModel) -> None:
    restricted = WorkflowEngine().script_engine
    _log("raw SpiffWorkflow …")
    run.add(measure(RawLayer(model, restricted), "raw SpiffWorkflow, full JSON, restricted script engine",
                    "raw", run.instances, run.warmup)[0])
    run.add(measure(RawLayer(model, PythonScriptEngine()), "raw SpiffWorkflow, full JSON, default PythonScriptEngine",
                    "raw-default", run.instances, run.warmup)[0])
    _log("engine without database …")
    run.add(measure(EngineLayer(model, WorkflowEngine()), "engine: load → complete_task → snapshot → dump",
                    "engine", run.instances, run.warmup)[0])


def bench_sqlite(run: Run) -> None:
    _log("service on SQLite …")
    with tempfile.TemporaryDirectory(prefix="motcua-bench-") as tmp:
        services = open_services(migrated(f"sqlite:///{Path(tmp) / 'bench.db'}"))
        try:
            measurement, handles = run_service(services, "service: InstanceService.complete_task, SQLite file",
                                               run.instances, run.warmup)
            run.add(measurement)
            run.history["sqlite"] = history_bytes(services, handles)
        finally:
            services.close()


def bench_postgres(run: Run) -> None:
    admin = pg.admin_url()
    reason = pg.unreachable_reason(admin)
    if reason is not None:
        note = f"PostgreSQL skipped: not reachable at {_safe(admin)} ({reason})"
        _log(note)
        run.notes.append(note)
        return
    _log("service on PostgreSQL …")
    url = pg.create_database(admin)
    try:
        services = open_services(migrated(url))
        try:
            cpu = pg.database_backends_cpu(admin, url) if pg.is_local(url) and pg.postgres_pids() else None
            if cpu is None:
                run.notes.append("PostgreSQL server CPU not measured: server not local or its processes not visible")
            else:
                run.notes.append("PostgreSQL server CPU: utime+stime of the backends connected to the bench "
                                 "database only (WAL writer, checkpointer and other sessions left out; "
                                 f"{pg.other_sessions(url)} other client sessions open at start).")
            label = f"service: InstanceService.complete_task, PostgreSQL {pg.server_version(url)}"
            measurement, handles = run_service(services, label, run.instances, run.warmup, cpu)
            run.add(measurement)
            run.history["postgresql"] = history_bytes(services, handles)
        finally:
            services.close()
    finally:
        pg.drop_database(admin, url)


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    steps = QUICK_STEPS if args.quick else args.steps
    instances = math.ceil(steps / TASKS_PER_INSTANCE)
    run = Run(instances=instances, warmup=1 if args.quick else WARMUP_INSTANCES)
    info = machine_info()
    _log(f"{info['cpu_model']}, nproc {info['nproc']}, Python {info['python']}, "
         f"SpiffWorkflow {info['spiffworkflow']}; {instances} instances × {TASKS_PER_INSTANCE} steps per layer")
    model = reference_model()
    bench_in_memory(run, model)
    bench_sqlite(run)
    if args.no_postgres:
        run.notes.append("PostgreSQL skipped: --no-postgres")
    else:
        bench_postgres(run)
    if args.timers:
        from bench.timers import measure as measure_timers

        _log("timers on PostgreSQL …")
        run.notes.append(measure_timers(args.timers))
        _log(run.notes[-1])
    points = state_sizes(model, WorkflowEngine())
    summary = size_summary(points)
    history = run.history.get("sqlite", {"median": 0, "max": 0, "events_per_instance": 0})
    options = {"steps": instances * TASKS_PER_INSTANCE, "instances": instances, "warmup": run.warmup,
               "quick": args.quick, "postgres": not args.no_postgres}
    base = run.results[0]
    markdown = render(info, options, run.results, base, points, summary, history, run.notes)
    print(markdown)
    data = payload(info, options, run.results, base, points, summary, history, run.notes)
    data["history_bytes_by_backend"] = run.history
    out = write_results(markdown, data)
    _log(f"wrote {out / 'latest.md'} and {out / 'latest.json'}")
    if args.profile:
        print(profile_text(max(4, instances // 5), base.total_cpu_ms))
    return 0


def profile_text(instances: int, raw_ms: float) -> str:
    from bench.profiling import profile_service

    _log(f"profiling the service step over {instances} instances …")
    return profile_service(instances, RESULTS_DIR, raw_ms)


if __name__ == "__main__":
    raise SystemExit(main())
