"""Public web page: anyone holding a dossier code and the applicant's ID number sees its status."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.web.render import page
from app.errors import NotFound

router = APIRouter(tags=["web"], include_in_schema=False)


@router.get("/public/lookup")
def lookup(request: Request, code: Annotated[str | None, Query(max_length=64)] = None,
           id_number: Annotated[str | None, Query(max_length=32)] = None) -> Response:
    result, error = None, None
    if code and id_number:
        try:
            result = request.app.state.services.dossiers.public(code.strip(), id_number.strip())
        except NotFound as exc:
            error = exc.detail
    return page(request, "lookup.html", status=404 if error else 200, result=result, error=error,
                code=code or "", id_number=id_number or "")
