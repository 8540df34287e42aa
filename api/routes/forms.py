"""The seven forms of Circular 03/2025/TT-VPCP for one dossier, as printable HTML or as PDF."""

from functools import lru_cache
from importlib.resources import files
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api.dependencies import services
from app.container import Services
from app.dossiers.form_render import FormRenderer
from app.dossiers.forms import FormService

router = APIRouter(prefix="/api/v1", tags=["forms"])

# The pages are static documents: no script may run, styles and the QR image are inline.
HTML_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


@lru_cache(maxsize=1)
def renderer() -> FormRenderer:
    return FormRenderer(files("api") / "web")


async def form_service(s: Annotated[Services, Depends(services)]) -> FormService:
    return FormService(s.db, renderer(), s.settings.public_base_url)


Forms = Annotated[FormService, Depends(form_service)]


@router.get("/dossiers/{code}/forms/{form}", response_class=Response,
            responses={200: {"content": {"text/html": {}, "application/pdf": {}}}})
def dossier_form(code: str, form: str, forms: Forms,
                 fmt: Annotated[Literal["html", "pdf"], Query(alias="format")] = "html") -> Response:
    """Mẫu số 01–07 (Thông tư 03/2025/TT-VPCP, Phụ lục I): 404 `unknown_form`, 409 `form_not_applicable`."""
    content, media_type, filename = forms.render(code, form, fmt)
    headers = {"Content-Disposition": f'inline; filename="{filename}"', "X-Content-Type-Options": "nosniff"}
    if fmt == "html":
        headers["Content-Security-Policy"] = HTML_POLICY
    return Response(content, media_type=media_type, headers=headers)
