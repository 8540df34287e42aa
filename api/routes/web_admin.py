"""Web pages of administration: diagram versions (upload, errors per element, what changed), calendar, incidents."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from api.security import Viewer
from api.web.render import check_csrf, page, redirect
from app.container import Services
from app.engine.parsing import SourceFile
from app.errors import InvalidInput, MotcuaError, PayloadTooLarge

router = APIRouter(tags=["web"], include_in_schema=False, dependencies=[Depends(check_csrf)])


def _services(request: Request) -> Services:
    return request.app.state.services


def _diagrams_page(request: Request, status: int = 200, error: MotcuaError | None = None,
                   deployed: list | None = None) -> Response:
    services = _services(request)
    definitions = list(services.deployments.list_definitions(None, 500, 0))
    previous: dict[str, str] = {}
    by_key: dict[tuple[str, int], str] = {(d.key, d.version): d.id for d in definitions}
    latest: dict[str, int] = {}
    for d in definitions:
        latest[d.key] = max(latest.get(d.key, 0), d.version)
        if (d.key, d.version - 1) in by_key:
            previous[d.id] = by_key[(d.key, d.version - 1)]
    return page(request, "admin_diagrams.html", status=status, definitions=definitions, previous=previous,
                error=error, deployed=deployed or [],
                counts=services.queries.counts_by_definition(),
                latest=latest)


@router.get("/ui/admin/diagrams")
def diagrams(request: Request, viewer: Viewer) -> Response:
    return _diagrams_page(request)


@router.post("/ui/admin/diagrams")
async def upload_diagram(request: Request, viewer: Viewer, csrf_token: Annotated[str, Form()],
                         file: Annotated[UploadFile, File()]) -> Response:
    services = _services(request)
    limit = services.deployments.limits.max_bytes
    content = await file.read(limit + 1)
    try:
        if len(content) > limit:
            raise PayloadTooLarge(f"'{file.filename}' vượt quá {limit} byte")
        result = await run_in_threadpool(services.deployments.deploy,
                                         [SourceFile(file.filename or "diagram.bpmn", content)], actor=viewer.actor)
    except MotcuaError as exc:
        if exc.status not in (409, 413, 422):
            raise
        return await run_in_threadpool(_diagrams_page, request, exc.status, exc)
    return await run_in_threadpool(_diagrams_page, request, 200, None, result.processes)


@router.get("/ui/admin/diagrams/{definition_id}/diff/{other_id}")
def diagram_diff(request: Request, definition_id: str, other_id: str) -> Response:
    services = _services(request)
    diff = services.migrations.diff(definition_id, other_id)
    svg = services.diagrams.definition_svg(other_id)
    return page(request, "admin_diff.html", diff=diff, svg=Markup(svg))


@router.get("/ui/admin/calendar")
def calendar(request: Request, viewer: Viewer) -> Response:
    return page(request, "admin_calendar.html", overrides=_services(request).calendar.overrides(), error=None)


@router.post("/ui/admin/calendar")
def add_override(request: Request, viewer: Viewer, csrf_token: Annotated[str, Form()],
                 day: Annotated[str, Form(max_length=10)], kind: Annotated[str, Form(max_length=16)],
                 reason: Annotated[str, Form(max_length=1000)],
                 legal_reference: Annotated[str | None, Form(max_length=255)] = None) -> Response:
    services = _services(request)
    try:
        try:
            when = date.fromisoformat(day)
        except ValueError as exc:
            raise InvalidInput("Ngày phải có dạng YYYY-MM-DD", field="day") from exc
        if len(reason.strip()) < 3:
            raise InvalidInput("Cần ghi lý do (ít nhất 3 ký tự)", field="reason")
        services.calendar.add_override(when, kind, reason.strip(), legal_reference or None, viewer.actor)
    except MotcuaError as exc:
        if exc.status != 422:
            raise
        return page(request, "admin_calendar.html", status=422, overrides=services.calendar.overrides(), error=exc)
    return redirect("/ui/admin/calendar")


@router.post("/ui/admin/calendar/{override_id}/delete")
def delete_override(request: Request, override_id: int, csrf_token: Annotated[str, Form()]) -> Response:
    _services(request).calendar.delete_override(override_id)
    return redirect("/ui/admin/calendar")


@router.get("/ui/admin/incidents")
def incidents(request: Request, viewer: Viewer) -> Response:
    return page(request, "admin_incidents.html", incidents=_services(request).incidents.list(200))


@router.post("/ui/admin/incidents/{incident_id}/retry")
def retry_incident(request: Request, incident_id: int, viewer: Viewer, csrf_token: Annotated[str, Form()]) -> Response:
    _services(request).incidents.retry(incident_id, viewer.actor)
    return redirect("/ui/admin/incidents")
