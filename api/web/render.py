"""Rendering the staff pages: the Jinja2 environment, the page context, the CSRF check and HTML error pages."""

import hmac
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import lru_cache
from importlib.resources import files
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData

from api.web import session as web
from api.web.i18n import translate
from app.errors import MotcuaError

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
# Scripts and styles only from our own static route; the inline diagram SVG carries its own style element.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


class CsrfFailed(MotcuaError):
    def __init__(self) -> None:
        super().__init__("Biểu mẫu đã hết hạn hoặc không phát sinh từ trang này; hãy tải lại trang và gửi lại",
                         code="csrf_failed", status=403, title="Phiên biểu mẫu không hợp lệ",
                         field=web.CSRF_FIELD)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(files("api") / "web" / "templates" / "ui")),
                      autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["local"] = _local
    env.filters["money"] = lambda amount: f"{int(amount or 0):,}".replace(",", ".") + " đ"
    return env


def _local(value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(LOCAL).strftime(fmt)


def lang_of(request: Request) -> str:
    return "en" if request.cookies.get(web.LANG_COOKIE) == "en" else "vi"


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    session = getattr(request.state, "web_session", None)
    csrf = session.csrf if session else None
    fresh_cookie = None
    if csrf is None:
        # Forms shown before sign-in (or to header-authenticated callers) get a signed double-submit pair.
        cookie_token = web.codec_of(request).anonymous_token_of(request.cookies.get(web.CSRF_COOKIE))
        if cookie_token is None:
            fresh_cookie, cookie_token = web.codec_of(request).anonymous_token()
        csrf = cookie_token
    html = environment().get_template(template).render(
        request=request, who=getattr(request.state, "principal", None), csrf=csrf, lang=lang,
        t=lambda text: translate(text, lang), path=request.url.path,
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""), **context)
    response = HTMLResponse(html, status_code=status)
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    response.headers["Cache-Control"] = "no-store"
    if fresh_cookie:
        services = request.app.state.services
        web.set_cookie(response, services.settings, web.CSRF_COOKIE, fresh_cookie, None)
    return response


async def check_csrf(request: Request) -> None:
    """Every POST form carries the token: the session's when signed in by cookie, else the double-submit one."""
    if request.method != "POST":
        return
    kind = request.headers.get("content-type", "")
    if not kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return  # the page routes take only form fields, so any other body fails their own validation (422)
    form: FormData = await request.form()
    given = str(form.get(web.CSRF_FIELD) or "")
    session = getattr(request.state, "web_session", None)
    if session is not None:
        expected = session.csrf
    elif getattr(request.state, "principal", None) is not None:
        return  # credentials in a header (API key, bearer): a browser never adds those across sites
    else:
        expected = web.codec_of(request).anonymous_token_of(request.cookies.get(web.CSRF_COOKIE)) or ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfFailed()


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def safe_next(url: str | None, default: str = "/ui/worklist") -> str:
    """Only same-site paths: an open redirect after sign-in would help phishing."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return default


def install(app: FastAPI) -> None:
    """HTML error pages for browsers on web pages; everything else keeps problem+json."""
    json_handler: Callable[[Request, Any], Awaitable[Response]] = app.exception_handlers[MotcuaError]

    async def domain_error(request: Request, exc: MotcuaError) -> Response:
        path = request.url.path
        if (web.is_web_path(path) or path.startswith("/public/") or path == "/login") and web.wants_html(request):
            return page(request, "error.html", status=exc.status, error=exc)
        return await json_handler(request, exc)

    async def login_required(request: Request, exc: web.LoginRequired) -> Response:
        return redirect(f"/login?next={quote(exc.next_url, safe='/')}")

    app.add_exception_handler(MotcuaError, domain_error)
    app.add_exception_handler(web.LoginRequired, login_required)
