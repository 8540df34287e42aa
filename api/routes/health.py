"""Liveness (/healthz: the process answers) and readiness (/readyz: database, schema and worker are fine)."""

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from api import errors
from api.dependencies import services
from app.container import Services
from app.observability import readiness

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Chưa sẵn sàng (problem+json, `checks` cho biết vì sao)"}})
def readyz(request: Request, s: Annotated[Services, Depends(services)]) -> Any:
    result = readiness.check(s.db, worker_enabled=s.settings.worker_enabled,
                             max_heartbeat_age=timedelta(seconds=s.settings.readiness_heartbeat_max_age_seconds))
    if result.ready:
        return {"status": "ready", "checks": result.checks}
    failed = result.failed
    response: JSONResponse = errors.problem(
        503, "not_ready", "Dịch vụ chưa sẵn sàng", f"Kiểm tra không đạt: {', '.join(failed)}",
        request.url.path, failed=failed, checks=result.checks)
    response.headers["Retry-After"] = "5"
    return response
