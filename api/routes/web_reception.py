"""Web page of the counter: find a procedure, tick its published documents, enter the applicant, receive."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from api.routes.forms import HTML_POLICY, renderer
from api.security import Viewer
from api.web.render import check_csrf, page, redirect
from app.dossiers.guidance import counter_form02 as counter_form02_context
from app.dossiers.requests import ReceptionRequest
from app.dossiers.views import ProcedureView
from app.errors import MotcuaError, Problem
from app.security.access import Forbidden
from app.security.principal import Principal

# Pydantic speaks English; the counter reads Vietnamese next to the field.
MESSAGES_VI = {"missing": "Bắt buộc nhập", "string_too_short": "Quá ngắn", "string_too_long": "Quá dài",
               "string_pattern_mismatch": "Sai định dạng", "too_short": "Chưa chọn giấy tờ nào",
               "literal_error": "Giá trị không hợp lệ", "int_parsing": "Cần một số nguyên",
               "greater_than_equal": "Giá trị quá nhỏ", "less_than_equal": "Giá trị quá lớn"}
router = APIRouter(tags=["web"], include_in_schema=False, dependencies=[Depends(check_csrf)])


def _form_page(request: Request, who: Principal, q: str | None, procedure: ProcedureView | None,
               values: dict[str, Any] | None = None, problems: list[Problem] | None = None,
               status: int = 200) -> Response:
    services = request.app.state.services
    found = services.catalogue.search(q, limit=30) if q else []
    units = [u for u in services.catalogue.units() if u.reception and (not who.unit_scoped or u.code in who.units)]
    errors: dict[str, str] = {}
    for p in problems or []:
        errors.setdefault(p.field or "", p.message)
    return page(request, "reception.html", status=status, q=q or "", found=found, procedure=procedure,
                units=units, values=values or {}, errors=errors, problems=problems or [])


@router.get("/ui/reception")
def reception_page(request: Request, viewer: Viewer, q: Annotated[str | None, Query(max_length=200)] = None,
                   procedure: Annotated[str | None, Query(max_length=32)] = None) -> Response:
    selected = request.app.state.services.catalogue.get(procedure) if procedure else None
    defaults = {"receiving_unit": viewer.unit or "", "channel": "counter", "applicant_type": "citizen",
                "competent_unit": (selected.competent_unit or "") if selected else ""}
    return _form_page(request, viewer, q, selected, defaults)


def _request_of(form: Any, procedure: ProcedureView) -> dict[str, Any]:
    ticked = set(form.getlist("doc"))
    documents = []
    for doc in procedure.documents:
        if doc.code not in ticked:
            continue
        entry: dict[str, Any] = {"code": doc.code}
        for name in ("originals", "copies"):
            text = str(form.get(f"{name}_{doc.code}") or "0").strip()
            entry[name] = int(text) if text.isdigit() else text
        reuse = str(form.get(f"reuse_{doc.code}") or "").strip()
        if reuse:
            entry["reuseFrom"] = reuse
        scan = form.get(f"scan_{doc.code}")
        if isinstance(scan, UploadFile) and scan.filename:
            entry["digitised"] = True
        documents.append(entry)
    applicant = {"type": form.get("applicant_type") or "citizen", "idNumber": str(form.get("id_number") or "").strip(),
                 "name": str(form.get("name") or "").strip()}
    for key in ("phone", "email", "address"):
        value = str(form.get(key) or "").strip()
        if value:
            applicant[key] = value
    fee_paid = form.get("fee_paid") == "on"
    return {"procedureCode": procedure.code, "channel": form.get("channel") or "counter",
            "receivingUnit": str(form.get("receiving_unit") or ""),
            "applicant": applicant,
            "documents": documents, "feePaid": fee_paid,
            "paymentChannel": (form.get("payment_channel") or None) if fee_paid else None}


async def _counter_input(request: Request, viewer: Principal, procedure_code: str,
                         action: str) -> tuple[ProcedureView, FormData, dict[str, Any]]:
    """The procedure, the posted form and the reception body built from it; 403 outside the clerk's units."""
    procedure = await run_in_threadpool(request.app.state.services.catalogue.get, procedure_code)
    form = await request.form()
    body = _request_of(form, procedure)
    if viewer.unit_scoped and body["receivingUnit"] not in viewer.units:
        raise Forbidden(f"Chỉ {action} hồ sơ tại đơn vị {viewer.unit}")
    return procedure, form, body


def _entered(form: FormData) -> dict[str, Any]:
    """What the clerk typed, to fill the form again beside its errors."""
    values: dict[str, Any] = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    values["doc_list"] = form.getlist("doc")
    return values


@router.post("/ui/reception")
async def receive(request: Request, viewer: Viewer, csrf_token: Annotated[str, Form()],
                  procedure_code: Annotated[str, Form(max_length=32)]) -> Response:
    services = request.app.state.services
    procedure, form, body = await _counter_input(request, viewer, procedure_code, "tiếp nhận")
    values = _entered(form)
    try:
        reception = ReceptionRequest.model_validate(body)
        dossier = await run_in_threadpool(services.reception.receive, reception, viewer.actor)
    except ValidationError as exc:
        problems = [Problem(e["type"], MESSAGES_VI.get(e["type"], e["msg"]), field=".".join(str(p) for p in e["loc"]))
                    for e in exc.errors()]
        return await run_in_threadpool(_form_page, request, viewer, None, procedure, values, problems, 422)
    except MotcuaError as exc:
        if exc.status != 422:
            raise
        problems = exc.problems or [Problem(exc.code, exc.detail, field=exc.field)]
        return await run_in_threadpool(_form_page, request, viewer, None, procedure, values, problems, 422)
    for doc in procedure.documents:
        scan = form.get(f"scan_{doc.code}")
        if isinstance(scan, UploadFile) and scan.filename:
            content = await scan.read(services.files.store.max_bytes + 1)
            try:
                await run_in_threadpool(services.files.attach, dossier.code, doc.code, content, scan.filename,
                                        viewer.actor)
            except MotcuaError:
                return redirect(f"/ui/dossiers/{dossier.code}?done=received-scan-refused")
    return redirect(f"/ui/dossiers/{dossier.code}?done=received")


@router.post("/ui/reception/form02")
async def counter_form02(request: Request, viewer: Viewer, csrf_token: Annotated[str, Form()],
                         procedure_code: Annotated[str, Form(max_length=32)]) -> Response:
    """Form 02 for an incomplete dossier at the counter, printed from the entered data; no dossier is stored."""
    services = request.app.state.services
    procedure, form, body = await _counter_input(request, viewer, procedure_code, "hướng dẫn")
    try:
        context = await run_in_threadpool(counter_form02_context, services.db, services.settings.public_base_url,
                                          procedure, body["receivingUnit"], body["applicant"],
                                          {d["code"] for d in body["documents"]}, viewer.subject)
    except MotcuaError as exc:
        if exc.status != 422:
            raise
        return await run_in_threadpool(_form_page, request, viewer, None, procedure, _entered(form),
                                       [Problem(exc.code, exc.detail, field=exc.field)], 422)
    return Response(renderer().html(context), media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": HTML_POLICY})
