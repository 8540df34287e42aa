"""Web pages: staff sign-in and sign-out, the language toggle, and the pages' own CSS and script."""

from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.web import session as web
from api.web.render import check_csrf, page, redirect, safe_next
from app.security.tokens import Unauthenticated

router = APIRouter(tags=["web"], include_in_schema=False, dependencies=[Depends(check_csrf)])
STATIC = {"ui.css": "text/css", "ui.js": "text/javascript"}


@router.get("/login")
def login_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    return page(request, "login.html", next=safe_next(next))


@router.post("/login")
def login(request: Request, username: Annotated[str, Form(max_length=150)],
          password: Annotated[str, Form(max_length=500)], csrf_token: Annotated[str, Form()],
          next: Annotated[str | None, Form(max_length=500)] = None) -> Response:
    services = request.app.state.services
    try:
        services.accounts.login(username, password)  # Argon2 check; the tokens it returns are not needed here
    except Unauthenticated:
        return page(request, "login.html", status=401, next=safe_next(next), username=username,
                    error="Sai tên đăng nhập hoặc mật khẩu")
    value, _ = web.codec_of(request).issue(username)
    response = redirect(safe_next(next))
    web.set_cookie(response, services.settings, web.SESSION_COOKIE, value, web.codec_of(request).lifetime)
    response.delete_cookie(web.CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(csrf_token: Annotated[str, Form()]) -> Response:
    response = redirect("/login")
    response.delete_cookie(web.SESSION_COOKIE, path="/")
    return response


@router.get("/ui/lang")
def switch_language(request: Request, to: Annotated[str, Query(pattern="^(vi|en)$")] = "vi",
                    next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    response = redirect(safe_next(next))
    web.set_cookie(response, request.app.state.services.settings, web.LANG_COOKIE, to, 365 * 24 * 3600)
    return response


@router.get("/ui/static/{name}")
async def static(name: str) -> Response:
    if name not in STATIC:
        return Response(status_code=404)
    content = await run_in_threadpool((files("api") / "web" / "static" / name).read_bytes)
    return Response(content, media_type=STATIC[name], headers={"Cache-Control": "public, max-age=3600"})
