"""Web pages of the worklist and the dossier: queues, the dossier page with its diagram, actions and forms."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from api.routes.forms import HTML_POLICY, renderer
from api.security import Viewer, default_unit
from api.web.render import LOCAL, check_csrf, page, redirect
from app.container import Services
from app.dossiers.forms import FORMS, FormService
from app.dossiers.status import QUEUES, Status
from app.errors import MotcuaError, NotFound
from app.processes.views import TaskView
from app.security import access, policy
from app.security.principal import Principal

router = APIRouter(tags=["web"], include_in_schema=False, dependencies=[Depends(check_csrf)])

QUEUE_LABELS = {"new": "Mới tiếp nhận", "supplement": "Chờ bổ sung", "in_progress": "Đang xử lý",
                "due_soon": "Sắp đến hạn", "overdue": "Quá hạn", "to_return": "Chờ trả kết quả", "withdrawn": "Đã rút"}
SORT_LABELS = {"appointment": "Hẹn trả sớm nhất", "-appointment": "Hẹn trả muộn nhất", "-received": "Mới nhận trước"}
OPEN = (Status.ACCEPTED, Status.IN_PROGRESS, Status.SUPPLEMENT_REQUESTED)
ACTION_PATH = "/ui/dossiers/{code}/actions/{action}"
# The lifecycle actions a person may take, each with when it applies (the service checks again, in its transaction).
ACTIONS: dict[str, tuple[str, Any]] = {
    "supplement-request": ("Yêu cầu bổ sung", lambda d: d.status in ("accepted", "in_progress")
                           and d.supplement_count == 0),
    "supplement-received": ("Đã nhận bổ sung", lambda d: d.status == "supplement_requested"),
    "extend": ("Gia hạn (kèm thư xin lỗi)", lambda d: d.status in OPEN and d.extension_count == 0),
    "refuse": ("Từ chối", lambda d: d.status in OPEN),
    "withdraw": ("Rút hồ sơ", lambda d: d.status in OPEN),
    "return-result": ("Trả kết quả", lambda d: d.status == "finished"),
}


def _services(request: Request) -> Services:
    return request.app.state.services


@router.get("/ui/worklist")
def worklist(request: Request, viewer: Viewer, queue: Annotated[str | None, Query(max_length=32)] = None,
             unit: Annotated[str | None, Query(max_length=32)] = None,
             procedure: Annotated[str | None, Query(max_length=32)] = None,
             mine: bool = False, sort: Annotated[str, Query(max_length=16)] = "appointment") -> Response:
    services = _services(request)
    scope = default_unit(viewer, unit or None)
    rows = services.dossiers.worklist(unit=scope, queue=queue or None, status=None, procedure=procedure or None,
                                      role=viewer.role if mine else None, sort=sort, limit=200)
    counts = services.dossiers.queue_counts(scope)
    today = datetime.now(LOCAL).date()
    with services.db.read() as session:
        calendar = services.calendar.working_calendar(session)
        left = {d.code: calendar.working_days_between(today, d.appointment_at.astimezone(LOCAL).date())
                for d in rows}
    return page(request, "worklist.html", rows=rows, counts=counts, queues=QUEUES, queue_labels=QUEUE_LABELS,
                queue=queue or "", unit=unit or "", scope=scope, procedure=procedure or "", mine=mine, sort=sort,
                sorts=SORT_LABELS, left=left, now=datetime.now(UTC))


def _dossier_page(request: Request, who: Principal, code: str, status: int = 200,
                  error: MotcuaError | None = None, failed: str | None = None, done: str | None = None) -> Response:
    services = _services(request)
    dossier = services.dossiers.get(code)
    history = services.queries.history(dossier.process_instance_id)
    instance = services.queries.get(dossier.process_instance_id)
    tasks = services.queries.list_tasks(instance_id=dossier.process_instance_id, lane=None, candidate_group=None,
                                        assignee=None, status="open", limit=50, offset=0)
    mine: list[TaskView] = []
    with services.db.read() as session:
        for task in tasks:
            try:
                access.task(session, who, task.id, acting=True)
            except access.Forbidden:
                continue
            mine.append(task)
    may_act = who.role in policy.allowed_roles("POST", ACTION_PATH)
    actions = {name: label for name, (label, applies) in ACTIONS.items() if may_act and applies(dossier)}
    try:
        svg = Markup(services.diagrams.instance_svg(dossier.process_instance_id))  # built by lxml: escaped
    except MotcuaError:
        svg = None  # a diagram without layout: the step list below still says where the dossier is
    done_label = {"step": "Đã hoàn thành bước"}.get(done or "") or (ACTIONS[done][0] if done in ACTIONS else done)
    return page(request, "dossier.html", status=status, d=dossier, done_label=done_label, history=history,
                instance=instance, tasks=tasks,
                mine=mine, actions=actions, svg=svg, forms=FORMS, error=error, failed=failed, done=done,
                may_complete=who.role in policy.allowed_roles("POST", "/ui/dossiers/{code}/tasks/{task_id}/complete"))


@router.get("/ui/dossiers/{code}")
def dossier_page(request: Request, code: str, viewer: Viewer,
                 done: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    return _dossier_page(request, viewer, code, done=done)


def _action_body(action: str, form: Any) -> dict[str, Any]:
    text = {k: str(form.get(k) or "").strip() for k in ("reason", "note", "days", "result_number")}
    if action == "supplement-request":
        documents = [str(v) for v in form.getlist("documents") if str(v).strip()]
        return {"reason": text["reason"], "documents": documents}
    if action == "supplement-received":
        return {"note": text["note"] or None}
    if action in ("refuse", "withdraw"):
        return {"reason": text["reason"]} if text["reason"] or action == "refuse" else {}
    if action == "extend":
        return {"reason": text["reason"], "days": int(text["days"]) if text["days"].isdigit() else text["days"]}
    if action == "return-result":
        return {"resultNumber": text["result_number"] or None, "electronic": form.get("electronic") == "on",
                "note": text["note"] or None}
    return {}


@router.post("/ui/dossiers/{code}/actions/{action}")
async def act(request: Request, code: str, action: str, viewer: Viewer,
              csrf_token: Annotated[str, Form()]) -> Response:
    if action not in ACTIONS:
        raise NotFound(f"Không có thao tác '{action}'", field="action", code="unknown_action")
    body = _action_body(action, await request.form())
    try:
        await run_in_threadpool(_services(request).lifecycle.act, code, action, body, viewer.actor)
    except MotcuaError as exc:
        if exc.status not in (409, 422):
            raise
        return await run_in_threadpool(_dossier_page, request, viewer, code, exc.status, exc, action)
    return redirect(f"/ui/dossiers/{code}?done={action}")


def _variables(task: TaskView, form: Any) -> dict[str, Any]:
    """Form fields as the diagram typed them; a bad value stays as text so the check names the field."""
    out: dict[str, Any] = {}
    for field in (task.form or {}).get("fields") or []:
        name, kind = field.get("id"), field.get("type") or "string"
        if not name:
            continue
        if kind == "boolean":
            out[name] = form.get(name) == "on"
            continue
        value = str(form.get(name) or "").strip()
        if value == "":
            continue
        if kind == "long":
            try:
                out[name] = int(value)
            except ValueError:
                out[name] = value
        else:
            out[name] = value
    return out


@router.post("/ui/dossiers/{code}/tasks/{task_id}/complete")
async def complete_step(request: Request, code: str, task_id: str, viewer: Viewer,
                        csrf_token: Annotated[str, Form()]) -> Response:
    services = _services(request)
    dossier = await run_in_threadpool(services.dossiers.get, code)
    task = await run_in_threadpool(services.queries.get_task, task_id)
    if task.process_instance_id != dossier.process_instance_id:
        raise NotFound(f"Bước '{task_id}' không thuộc hồ sơ {code}", field="task_id")
    variables = _variables(task, await request.form())
    try:
        await run_in_threadpool(services.instances.complete_task, task_id, variables, viewer.actor)
    except MotcuaError as exc:
        if exc.status not in (409, 422):
            raise
        return await run_in_threadpool(_dossier_page, request, viewer, code, exc.status, exc, task_id)
    return redirect(f"/ui/dossiers/{code}?done=step")


@router.get("/ui/dossiers/{code}/forms/{form}")
def dossier_form(request: Request, code: str, form: str) -> Response:
    services = _services(request)
    content, media_type, _ = FormService(services.db, renderer(), services.settings.public_base_url) \
        .render(code, form, "html")
    return Response(content, media_type=media_type, headers={"Content-Security-Policy": HTML_POLICY})
