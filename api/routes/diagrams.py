"""Diagram pictures (SVG) of deployed versions and of running instances."""

from fastapi import APIRouter, Response

from api.dependencies import Diagrams

router = APIRouter(prefix="/api/v1", tags=["diagrams"])
SVG_MEDIA_TYPE = "image/svg+xml"
_SVG_RESPONSE = {200: {"content": {SVG_MEDIA_TYPE: {}}}}
# The SVG carries diagram text from uploaded files: even escaped, it must never run anything if opened directly.
_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff"}


@router.get("/process-definitions/{definition_id}/diagram.svg", response_class=Response, responses=_SVG_RESPONSE)
def definition_diagram(definition_id: str, diagrams: Diagrams) -> Response:
    return Response(diagrams.definition_svg(definition_id), media_type=SVG_MEDIA_TYPE, headers=_HEADERS)


@router.get("/process-instances/{instance_id}/diagram.svg", response_class=Response, responses=_SVG_RESPONSE)
def instance_diagram(instance_id: str, diagrams: Diagrams) -> Response:
    # The colours change with every step, so caches must ask again.
    return Response(diagrams.instance_svg(instance_id), media_type=SVG_MEDIA_TYPE,
                    headers={**_HEADERS, "Cache-Control": "no-store"})
