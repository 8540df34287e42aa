"""Prometheus /metrics: this process's request latency and transitions, outbox and overdue counts from the database."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse

from api.dependencies import services
from app.container import Services
from app.observability.gauges import overdue_lines
from app.observability.metrics import render_process_metrics

router = APIRouter(tags=["operations"])
Svc = Annotated[Services, Depends(services)]
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def outbox_lines(s: Services) -> list[str]:
    lines = ["# HELP motcua_outbox_messages Outbox rows by topic and status.",
             "# TYPE motcua_outbox_messages gauge"]
    counts = s.outbox.counts()
    lines += [f'motcua_outbox_messages{{topic="{t}",status="{st}"}} {n}' for t, st, n, _ in counts]
    lines += ["# HELP motcua_outbox_attempts_total Delivery attempts made, by topic and status of the row.",
              "# TYPE motcua_outbox_attempts_total counter"]
    lines += [f'motcua_outbox_attempts_total{{topic="{t}",status="{st}"}} {a}' for t, st, _, a in counts]
    return lines


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(s: Svc) -> PlainTextResponse:
    """Prometheus text format (counters are per process: scrape every API process)."""
    lines = [*render_process_metrics(), *outbox_lines(s), *overdue_lines(s.db)]
    return PlainTextResponse("\n".join(lines) + "\n", media_type=PROMETHEUS_TEXT)
