"""Authentication and the central authorization check, run before every route (see app/security/policy.py).

Credentials: `Authorization: Bearer <JWT>` (ours, or an external OIDC provider's) or `X-API-Key`.
Missing or bad credentials answer 401 with a WWW-Authenticate challenge; a known caller without the
right answers 403 `forbidden`, and every denial is logged (never with the credential itself).
"""

import logging
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool

from api.web import session as web
from app.container import Services
from app.security import access, audit, policy
from app.security.access import Forbidden
from app.security.principal import Principal
from app.security.roles import Role
from app.security.tokens import Unauthenticated

log = logging.getLogger("motcua.security")
COMPLETE_TASK = "/api/v1/tasks/{task_id}/complete"
DEFERRED = access.Target(None, None)  # scoped by the command itself; the audit target is filled in there
# Declared so that OpenAPI (and the Authorize button of /docs) knows both schemes; checked below by hand.
API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="Khóa API (hệ thống tích hợp)")
BEARER = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", refreshUrl="/api/v1/auth/token", auto_error=False)


def _route_of(request: Request) -> tuple[str, str, list[str]]:
    route = request.scope.get("route")
    method = "GET" if request.method == "HEAD" else request.method
    return method, getattr(route, "path", request.url.path), [str(t) for t in getattr(route, "tags", None) or []]


def _authenticate(services: Services, request: Request, cookie_allowed: bool = False) -> Principal:
    key = request.headers.get("x-api-key")
    if key:
        behalf = request.headers.get("x-actor")
        return services.accounts.from_api_key(key, on_behalf_of=behalf[:255] if behalf else None)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return services.accounts.from_bearer(token.strip())
    if cookie_allowed:  # web pages only: a cookie on /api/… would open the REST API to cross-site forgery
        session = web.codec_of(request).read(request.cookies.get(web.SESSION_COOKIE))
        if session is not None:
            request.state.web_session = session
            return services.accounts.user_principal(session.username)
    raise Unauthenticated("Cần đăng nhập (Authorization: Bearer …) hoặc khóa API (X-API-Key)")


def _scope(services: Services, who: Principal, method: str, path: str, params: dict[str, Any],
           query: dict[str, str], body: Any) -> access.Target:
    """Unit scoping from the route's own parameters, so routes added later are covered by name. Each branch
    reads one statement."""
    with services.db.read_statement() as session:
        if "task_id" in params:
            claim = path.endswith("/claim") and isinstance(body, dict)
            assign_to = str(body.get("assignee")) if claim and body.get("assignee") else None
            return access.task(session, who, params["task_id"], acting=method != "GET", assign_to=assign_to)
        if "instance_id" in params:
            return access.instance(session, who, params["instance_id"])
        if "code" in params and path.startswith(("/api/v1/dossiers/", "/ui/dossiers/")):
            return access.dossier(session, who, params["code"])
        if path in ("/api/v1/dossiers", "/api/v1/dossiers/queues", "/ui/worklist") and method == "GET":
            access.unit_filter(who, query.get("unit"))
        elif path == "/api/v1/tasks" and method == "GET":
            if query.get("processInstanceId"):
                return access.instance(session, who, query["processInstanceId"])
            if who.unit_scoped:
                raise Forbidden("Cán bộ đơn vị xem bước xử lý theo hồ sơ: hãy chỉ rõ processInstanceId")
        elif path == "/api/v1/dossiers" and method == "POST" and who.unit_scoped:
            receiving = body.get("receivingUnit") if isinstance(body, dict) else None
            if receiving not in who.units:
                raise Forbidden(f"Chỉ tiếp nhận hồ sơ tại đơn vị {who.unit}")
    return access.NOTHING


def _deny(request: Request, who: Principal | None, reason: str) -> None:
    log.warning("denied %s %s subject=%s role=%s unit=%s: %s", request.method, request.url.path,
                who.subject if who else None, who.role if who else None, who.unit if who else None, reason)


def _needs_body(method: str, path: str, who: Principal) -> bool:
    return method == "POST" and (path == "/api/v1/dossiers" or path.endswith("/claim")) and who.unit_scoped


def _checked_in_command(request: Request, method: str, path: str) -> bool:
    """A task completion is scoped inside its own command, on the rows it locks (access.check_in_command): one
    read fewer per completion. Not with an Idempotency-Key, whose stored answer may be replayed without the
    command running."""
    return method == "POST" and path == COMPLETE_TASK and "idempotency-key" not in request.headers


def _admit(services: Services, request: Request, method: str, path: str, tags: list[str], params: dict[str, Any],
           query: dict[str, str], web_path: bool) -> tuple[Principal, access.Target | None]:
    """Credentials, the policy table and unit scoping in one threadpool hop (each hop costs CPU and a wait for
    a thread under load). The target is None when scoping needs the JSON body, which is read on the loop, and
    DEFERRED when the command scopes itself."""
    who = _authenticate(services, request, web_path)
    try:
        _check_policy(who, method, path, tags)
        if _checked_in_command(request, method, path):
            return who, DEFERRED
        if _needs_body(method, path, who):
            return who, None
        return who, _scope(services, who, method, path, params, query, None)
    except Forbidden as exc:
        _deny(request, who, exc.detail)
        raise


def _check_policy(who: Principal, method: str, path: str, tags: list[str]) -> None:
    if who.role not in policy.allowed_roles(method, path):
        raise Forbidden(f"Vai trò '{who.role}' không được phép {method} {path}")
    if who.scopes and not who.scopes.intersection(tags):
        raise Forbidden(f"Khóa API chỉ dùng cho: {', '.join(sorted(who.scopes))}")


async def authorize(request: Request, _key: Annotated[str | None, Security(API_KEY)] = None,
                    _bearer: Annotated[str | None, Security(BEARER)] = None) -> None:
    method, path, tags = _route_of(request)
    params = dict(request.path_params)
    if policy.is_public(method, path):
        audit.current.set(audit.AuditContext(actor="public", role=None, unit=None, action=f"{method} {path}",
                                             data=params))
        return
    services: Services = request.app.state.services
    web_path = web.is_web_path(path)
    query = dict(request.query_params)
    try:
        who, target = await run_in_threadpool(_admit, services, request, method, path, tags, params, query,
                                              web_path)
    except Unauthenticated as exc:
        _deny(request, None, exc.code)
        if web_path and web.wants_html(request):
            raise web.LoginRequired(str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")) \
                from exc
        raise
    if target is None:
        try:
            body = await request.json()
        except ValueError:
            body = None  # the route's own validation answers 422
        try:
            target = await run_in_threadpool(_scope, services, who, method, path, params, query, body)
        except Forbidden as exc:
            _deny(request, who, exc.detail)
            raise
    request.state.principal = who
    if target is DEFERRED:
        access.pending_check.set(access.CommandCheck(who, params["task_id"]))
    audit.current.set(audit.AuditContext(actor=who.actor, role=who.role, unit=who.unit, action=f"{method} {path}",
                                         target=target.ref, before_status=target.status, data=params))


async def refusal_before_validation(request: Request) -> Forbidden | None:
    """The scoping a command was to do, done now because the request failed validation before reaching it: a
    caller without the right hears 403, as for every other route, not what was wrong with the input."""
    check = access.pending_check.get()
    if check is None or check.done:
        return None
    services: Services = request.app.state.services
    try:
        await run_in_threadpool(_scope, services, check.who, "POST", COMPLETE_TASK, {"task_id": check.task_id}, {},
                                None)
    except Forbidden as exc:
        _deny(request, check.who, exc.detail)
        return exc
    check.done = True
    return None


async def principal(request: Request) -> Principal:
    who = getattr(request.state, "principal", None)
    if who is None:  # only public routes get here without one; they must not ask
        raise Unauthenticated("Cần đăng nhập")
    return who


Viewer = Annotated[Principal, Depends(principal)]


def default_unit(who: Principal, unit: str | None) -> str | None:
    """Unit-scoped staff see their own agency's dossiers unless they narrow it further."""
    if unit is None and who.unit_scoped:
        return who.agency or who.unit
    return unit


__all__ = ["Role", "Viewer", "authorize", "default_unit", "principal"]
