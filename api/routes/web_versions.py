"""Web pages of diagram versions in use: instances per version and moving them to a newer one (plan, then execute)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from api.security import Viewer
from api.web.render import check_csrf, page
from app.container import Services
from app.errors import InvalidInput
from app.processes.views import DefinitionView

router = APIRouter(tags=["web"], include_in_schema=False, dependencies=[Depends(check_csrf)])


def _newer_versions(services: Services, definition_id: str) -> tuple[DefinitionView, list[DefinitionView]]:
    source = services.deployments.get(definition_id)
    newer = [d for d in services.deployments.list_definitions(source.key, 500, 0) if d.version > source.version]
    return source, sorted(newer, key=lambda d: d.version, reverse=True)


def _checked_target(newer: list[DefinitionView], target: str) -> str:
    if target not in {d.id for d in newer}:
        raise InvalidInput("Hãy chọn một phiên bản mới hơn của cùng quy trình", field="target")
    return target


@router.get("/ui/admin/diagrams/{definition_id}/migrate")
def migration_plan(request: Request, definition_id: str, viewer: Viewer,
                   target: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """Showing the dry run first: nothing moves until the admin confirms the plan on this page."""
    services: Services = request.app.state.services
    source, newer = _newer_versions(services, definition_id)
    ids = services.queries.unfinished_ids(definition_id)
    report = None
    if target:
        report = services.migrations.plan(ids, _checked_target(newer, target))
    return page(request, "admin_migrate.html", source=source, newer=newer, target=target or "",
                count=len(ids), report=report, executed=False)


@router.post("/ui/admin/diagrams/{definition_id}/migrate")
def migration_execute(request: Request, definition_id: str, viewer: Viewer, csrf_token: Annotated[str, Form()],
                      target: Annotated[str, Form(max_length=64)]) -> Response:
    services: Services = request.app.state.services
    source, newer = _newer_versions(services, definition_id)
    ids = services.queries.unfinished_ids(definition_id)
    report = services.migrations.execute(ids, _checked_target(newer, target), actor=viewer.actor)
    return page(request, "admin_migrate.html", source=source, newer=newer, target=target, count=len(ids),
                report=report, executed=True)
