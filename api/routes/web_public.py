"""Public web pages: anyone holding a dossier code and the applicant's ID number sees its status and rates it."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.web.render import check_csrf, page, redirect
from app.errors import Conflict, InvalidInput, MotcuaError, NotFound
from app.reports.ratings import RATABLE, RatingRequest

router = APIRouter(tags=["web"], include_in_schema=False)


def _lookup_page(request: Request, code: str, id_number: str, status: int = 200,
                 rating_error: MotcuaError | None = None, rated: bool = False) -> Response:
    result, error = None, None
    if code and id_number:
        try:
            result = request.app.state.services.dossiers.public(code.strip(), id_number.strip())
        except NotFound as exc:
            error = exc.detail
    return page(request, "lookup.html", status=404 if error else status, result=result, error=error,
                code=code, id_number=id_number, ratable=bool(result and result.status in RATABLE),
                rating_error=rating_error, rated=rated)


@router.get("/public/lookup")
def lookup(request: Request, code: Annotated[str | None, Query(max_length=64)] = None,
           id_number: Annotated[str | None, Query(max_length=32)] = None,
           rated: Annotated[bool, Query()] = False) -> Response:
    return _lookup_page(request, code or "", id_number or "", rated=rated)


@router.post("/public/lookup/rating", dependencies=[Depends(check_csrf)])
def rate(request: Request, csrf_token: Annotated[str, Form()], code: Annotated[str, Form(max_length=64)],
         id_number: Annotated[str, Form(max_length=32)], score: Annotated[str, Form(max_length=2)] = "",
         comment: Annotated[str, Form(max_length=2000)] = "",
         complaint: Annotated[str, Form(max_length=4000)] = "") -> Response:
    """The same rating service as POST /api/v1/public/dossiers/{code}/rating, errors shown next to the field."""
    code, id_number = code.strip(), id_number.strip()
    try:
        try:
            body = RatingRequest(id_number=id_number, score=int(score) if score.isdigit() else 0,
                                 comment=comment.strip() or None, complaint=complaint.strip() or None)
        except ValidationError as exc:
            field = str(exc.errors()[0]["loc"][0]) if exc.errors()[0]["loc"] else "score"
            raise InvalidInput("Hãy chọn mức hài lòng từ 1 đến 5" if field == "score"
                               else "Giá trị không hợp lệ", field=field) from exc
        request.app.state.services.ratings.rate(code, body)
    except (InvalidInput, Conflict) as exc:
        return _lookup_page(request, code, id_number, status=exc.status, rating_error=exc)
    return redirect("/public/lookup?" + urlencode({"code": code, "id_number": id_number, "rated": "true"}))
