"""In-process Prometheus metrics (request latency histogram, instance transitions) in the text format.

Counters live in this process: with several uvicorn workers each process reports its own, so scrape each
one (or run one API process per container). Database-derived gauges are computed at scrape time instead.
"""

import threading
from bisect import bisect_left
from collections import defaultdict
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.orm import Session

from persistence.models import HumanTask, ProcessInstance, Wait

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_lock = threading.Lock()
# (method, route template, status class) -> [count per bucket..., +Inf count], sum
_latency: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0] * (len(BUCKETS) + 2))
_transitions: dict[str, int] = defaultdict(int)
_PENDING = "motcua.transitions"


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    key = (method, route, f"{status // 100}xx")
    with _lock:
        row = _latency[key]
        row[bisect_left(BUCKETS, seconds)] += 1
        row[-1] += seconds


def count_transition(session: Session, instance_status: str) -> None:
    """Counted when the command's transaction commits; a rolled-back command changed nothing."""
    session.info.setdefault(_PENDING, []).append(instance_status)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        with _lock:
            for status in pending:
                _transitions[status] += 1


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_process_metrics() -> list[str]:
    with _lock:
        latency = {k: list(v) for k, v in _latency.items()}
        transitions = dict(_transitions)
    lines = ["# HELP motcua_http_request_duration_seconds Request latency by route template and status class.",
             "# TYPE motcua_http_request_duration_seconds histogram"]
    for (method, route, status), row in sorted(latency.items()):
        labels = f'method="{method}",route="{_label(route)}",status="{status}"'
        cumulative = 0.0
        for bound, n in zip((*BUCKETS, "+Inf"), row[:-1], strict=True):
            cumulative += n
            lines.append(f'motcua_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {cumulative:g}')
        lines.append(f"motcua_http_request_duration_seconds_sum{{{labels}}} {row[-1]:.6f}")
        lines.append(f"motcua_http_request_duration_seconds_count{{{labels}}} {cumulative:g}")
    lines += ["# HELP motcua_instance_transitions_total Committed instance commands, by the instance's status after.",
              "# TYPE motcua_instance_transitions_total counter"]
    lines += [f'motcua_instance_transitions_total{{status="{_label(s)}"}} {n}' for s, n in sorted(transitions.items())]
    return lines


def transition_listener(session: Session, instance: ProcessInstance, tasks: list[HumanTask], waits: list[Wait],
                        now: datetime) -> None:
    """An instance listener (app/processes): every saved instance change is one transition."""
    count_transition(session, instance.status)
