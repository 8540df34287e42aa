"""Web page of accounts: staff users (create, disable, enable) and integrator API keys (create once, revoke)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.security import Viewer
from api.web.render import check_csrf, page, redirect
from app.errors import MotcuaError
from app.security.roles import ROLES

router = APIRouter(tags=["web"], include_in_schema=False, dependencies=[Depends(check_csrf)])


def _page(request: Request, status: int = 200, error: MotcuaError | None = None, new_key: str | None = None,
          values: dict[str, str] | None = None) -> Response:
    accounts = request.app.state.services.accounts
    return page(request, "admin_accounts.html", status=status, users=accounts.list_users(),
                keys=accounts.list_api_keys(), roles=sorted(ROLES), error=error, new_key=new_key,
                values=values or {})


@router.get("/ui/admin/accounts")
def accounts(request: Request, viewer: Viewer) -> Response:
    return _page(request)


@router.post("/ui/admin/accounts/users")
def create_user(request: Request, viewer: Viewer, csrf_token: Annotated[str, Form()],
                username: Annotated[str, Form(min_length=2, max_length=150, pattern=r"^[A-Za-z0-9._-]+$")],
                password: Annotated[str, Form(max_length=500)], role: Annotated[str, Form(max_length=32)],
                unit: Annotated[str, Form(max_length=32)],
                full_name: Annotated[str | None, Form(max_length=255)] = None) -> Response:
    try:
        request.app.state.services.accounts.create_user(username, password, role, unit, full_name or None)
    except MotcuaError as exc:
        if exc.status not in (409, 422):
            raise
        return _page(request, exc.status, exc, values={"username": username, "role": role, "unit": unit,
                                                       "full_name": full_name or ""})
    return redirect("/ui/admin/accounts")


@router.post("/ui/admin/accounts/users/{username}/active")
def set_active(request: Request, username: str, viewer: Viewer, csrf_token: Annotated[str, Form()],
               active: Annotated[bool, Form()] = False) -> Response:
    request.app.state.services.accounts.set_active(username, active)
    return redirect("/ui/admin/accounts")


@router.post("/ui/admin/accounts/keys")
async def create_key(request: Request, viewer: Viewer, csrf_token: Annotated[str, Form()],
                     name: Annotated[str, Form(min_length=2, max_length=120)],
                     role: Annotated[str, Form(max_length=32)],
                     unit: Annotated[str | None, Form(max_length=32)] = None) -> Response:
    accounts = request.app.state.services.accounts
    try:
        created = await run_in_threadpool(accounts.create_api_key, name, role, unit or None)
    except MotcuaError as exc:
        if exc.status != 422:
            raise
        return await run_in_threadpool(_page, request, 422, exc)
    return await run_in_threadpool(_page, request, 201, None, created.key)  # shown once, never stored


@router.post("/ui/admin/accounts/keys/{key_id}/revoke")
def revoke_key(request: Request, key_id: int, viewer: Viewer, csrf_token: Annotated[str, Form()]) -> Response:
    request.app.state.services.accounts.revoke_api_key(key_id)
    return redirect("/ui/admin/accounts")
