"""Machine facts, the Markdown report and bench/results/latest.{json,md}."""

import json
import os
import platform
from dataclasses import asdict
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.common import Measurement
from bench.engine import SizePoint

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine_info() -> dict[str, Any]:
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "spiffworkflow": version("SpiffWorkflow"),
        "sqlalchemy": version("SQLAlchemy"),
        "platform": platform.platform(),
        "loadavg_at_start": list(os.getloadavg()),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def measurements_table(results: list[Measurement], base: Measurement) -> str:
    rows = [
        "| Layer | Steps | Wall s | Steps/s | Client CPU ms/step | Server CPU ms/step | Total CPU ms/step "
        "| Throughput ÷ raw | CPU ÷ raw |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for m in results:
        rows.append(
            f"| {m.label} | {m.steps:,} | {_fmt(m.wall_s)} | {_fmt(m.steps_per_s, 1)} | {_fmt(m.cpu_ms, 3)} "
            f"| {_fmt(m.server_ms, 3)} | {_fmt(m.total_cpu_ms, 3)} "
            f"| {m.steps_per_s / base.steps_per_s:.2f}× | {m.total_cpu_ms / base.total_cpu_ms:.2f}× |"
        )
    return "\n".join(rows)


def sizes_table(points: list[SizePoint], summary: dict[str, Any]) -> str:
    rows = ["| State after | motcua state (bytes) | SpiffWorkflow full JSON (bytes) | ours ÷ full |",
            "|---|--:|--:|--:|"]
    rows += [f"| {p.after} | {p.ours:,} | {p.full:,} | {p.ours / p.full:.2f} |" for p in points]
    rows.append(f"| **median** | {summary['ours_median']:,.0f} | {summary['full_median']:,.0f} "
                f"| {summary['ratio_median']:.2f} |")
    rows.append(f"| **max** | {summary['ours_max']:,} | {summary['full_max']:,} | {summary['ratio_max']:.2f} |")
    return "\n".join(rows)


def render(info: dict[str, Any], options: dict[str, Any], results: list[Measurement], base: Measurement,
           points: list[SizePoint], summary: dict[str, Any], history: dict[str, Any],
           notes: list[str]) -> str:
    lines = [
        "# motcua step benchmark",
        "",
        f"{info['cpu_model']}, nproc {info['nproc']}, Python {info['python']}, "
        f"SpiffWorkflow {info['spiffworkflow']}, SQLAlchemy {info['sqlalchemy']}, "
        f"load avg {info['loadavg_at_start'][0]:.2f} at start, {os.getloadavg()[0]:.2f} at end "
        "(other work on the machine shows up as noise)",
        "",
        f"A step is one user-task completion on `reference_procedure` (5 per instance; the `moh_result` "
        f"message round runs untimed). {options['instances']} instances per layer, driven round by round, "
        f"after a warm-up of {options['warmup']}. Ratios are against the first row (raw SpiffWorkflow with "
        "motcua's restricted script engine): throughput ÷ raw > 1 is faster than raw, CPU ÷ raw > 1 costs more.",
        "",
        measurements_table(results, base),
        "",
        "## Saved state per instance",
        "",
        sizes_table(points, summary),
        "",
        f"History per finished instance (sum of `HistoryEntry.model_dump_json(by_alias=True)` lengths): "
        f"median {history['median']:,.0f} bytes, max {history['max']:,} bytes, "
        f"{history['events_per_instance']} events.",
    ]
    if notes:
        lines += ["", "Notes:", "", *[f"- {n}" for n in notes]]
    return "\n".join(lines) + "\n"


def write_results(markdown: str, payload: dict[str, Any], out_dir: Path = RESULTS_DIR) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "latest.md").write_text(markdown, encoding="utf-8")
    (out_dir / "latest.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n",
                                         encoding="utf-8")
    return out_dir


def payload(info: dict[str, Any], options: dict[str, Any], results: list[Measurement], base: Measurement,
            points: list[SizePoint], summary: dict[str, Any], history: dict[str, Any],
            notes: list[str]) -> dict[str, Any]:
    return {
        "at": datetime.now(UTC).isoformat(),
        "machine": {**info, "loadavg_at_end": list(os.getloadavg())},
        "options": options,
        "measurements": [_measurement(m, base) for m in results],
        "state_sizes": {"points": [asdict(p) for p in points], "summary": summary},
        "history_bytes_per_instance": history,
        "notes": notes,
    }


def _measurement(m: Measurement, base: Measurement) -> dict[str, Any]:
    return {
        **asdict(m),
        "steps_per_s": m.steps_per_s,
        "cpu_ms_per_step": m.cpu_ms,
        "server_cpu_ms_per_step": m.server_ms,
        "total_cpu_ms_per_step": m.total_cpu_ms,
        "throughput_vs_raw": m.steps_per_s / base.steps_per_s,
        "cpu_vs_raw": m.total_cpu_ms / base.total_cpu_ms,
    }
