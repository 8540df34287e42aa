"""Web pages of the procedure catalogue: search it, edit a procedure (name, legal days, fees, documents)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.security import Viewer
from api.web.render import check_csrf, page, redirect
from app.dossiers.views import ProcedureIn, ProcedureView
from app.errors import InvalidInput, MotcuaError

router = APIRouter(tags=["web"], include_in_schema=False, dependencies=[Depends(check_csrf)])
BLANK_FEES, BLANK_DOCUMENTS = 1, 2  # empty rows offered for adding; a row left without a code is dropped


@router.get("/ui/admin/procedures")
def procedures(request: Request, viewer: Viewer, q: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    found = request.app.state.services.catalogue.search(q, None, 200, 0)
    return page(request, "admin_procedures.html", procedures=found, q=q or "")


@router.get("/ui/admin/procedures/{code}")
def edit_procedure(request: Request, code: str, viewer: Viewer, saved: bool = False) -> Response:
    procedure = request.app.state.services.catalogue.get(code)
    return _form(request, procedure.model_dump(), errors={}, saved=saved)


@router.post("/ui/admin/procedures/{code}")
async def save_procedure(request: Request, code: str, viewer: Viewer) -> Response:
    services = request.app.state.services
    current = services.catalogue.get(code)
    data = _edited(current, await request.form())
    try:
        try:
            body = ProcedureIn.model_validate(data)
        except ValidationError as exc:
            raise _first_problem(exc) from exc
        services.catalogue.update(code, body)
    except MotcuaError as exc:
        if exc.status != 422:
            raise
        return _form(request, data, errors={exc.field or "": exc.detail}, status=422)
    return redirect(f"/ui/admin/procedures/{code}?saved=true")


def _form(request: Request, data: dict[str, Any], errors: dict[str, str], saved: bool = False,
          status: int = 200) -> Response:
    fees = list(data.get("fees") or []) + [{}] * BLANK_FEES
    documents = list(data.get("documents") or []) + [{}] * BLANK_DOCUMENTS
    return page(request, "admin_procedure.html", status=status, p=data, fees=fees, documents=documents,
                errors=errors, saved=saved)


def _edited(current: ProcedureView, form: FormData) -> dict[str, Any]:
    """The stored procedure with the fields this page edits replaced by the form's; the rest stays as it was."""
    data = current.model_dump()
    data["name"] = str(form.get("name") or "").strip()
    data["legal_days"] = str(form.get("legal_days") or "").strip().replace(",", ".")
    data["fees"] = [row for row in _rows(form, "fees", ("code", "name", "amount")) if row["code"]]
    documents = []
    for index, row in enumerate(_rows(form, "documents", ("code", "name", "originals", "copies"))):
        if row["code"]:
            row["required"] = form.get(f"documents.{index}.required") == "on"
            documents.append(row)
    data["documents"] = documents
    return data


def _rows(form: FormData, prefix: str, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = []
    index = 0
    while f"{prefix}.{index}.code" in form:
        rows.append({c: str(form.get(f"{prefix}.{index}.{c}") or "").strip() for c in columns})
        index += 1
    return rows


def _first_problem(exc: ValidationError) -> InvalidInput:
    """The first wrong field, named like the form input (`documents.2.code`), with a message in Vietnamese."""
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    field = ".".join(loc) if loc else "name"
    messages = {
        "name": "Tên thủ tục cần từ 3 đến 2000 ký tự",
        "legal_days": "Thời hạn giải quyết phải là số lớn hơn 0 và không quá 365",
        "documents": "Thủ tục phải có ít nhất một giấy tờ; mã giấy tờ không được trùng",
    }
    column = loc[-1] if loc else ""
    if loc and loc[0] in messages and len(loc) == 1:
        detail = messages[loc[0]]
    elif column == "code" and loc[0] == "documents":
        detail = "Mã giấy tờ chỉ gồm chữ thường không dấu, số và dấu gạch dưới"
    elif column in ("amount", "originals", "copies"):
        detail = "Phải là số nguyên không âm"
    else:
        detail = "Cần điền trường này"
    return InvalidInput(detail, field=field)
