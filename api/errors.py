"""RFC 9457 problem+json for every error: a stable `code`, a Vietnamese title, the field or element id."""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import MotcuaError

log = logging.getLogger("motcua.api")

PROBLEM_JSON = "application/problem+json"
_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 413: "payload_too_large",
                 415: "unsupported_media_type", 422: "invalid_input", 429: "too_many_requests"}
_TITLES = {404: "Không tìm thấy", 405: "Phương thức không được hỗ trợ", 413: "Dữ liệu quá lớn",
           415: "Kiểu dữ liệu không được hỗ trợ"}


def problem(status: int, code: str, title: str, detail: str, instance: str | None = None,
            **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": f"urn:motcua:problem:{code}", "title": title, "status": status,
                            "detail": detail, "code": code}
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v not in (None, [], {})})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def domain_problem(request: Request, exc: MotcuaError) -> JSONResponse:
    response = problem(exc.status, exc.code, exc.title, exc.detail, request.url.path, field=exc.field,
                       elementId=exc.element_id, errors=[p.as_dict() for p in exc.problems])
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="motcua", ApiKey header="X-API-Key"'
    return response


def install(app: FastAPI, refusal_before_validation: Callable[[Request], Awaitable[MotcuaError | None]]) -> None:
    """`refusal_before_validation`: authorization answers before validation, also when part of it was left to
    the route's command (api/security.py), which invalid input never reaches."""

    @app.exception_handler(MotcuaError)
    async def _domain(request: Request, exc: MotcuaError) -> JSONResponse:
        return domain_problem(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        refused = await refusal_before_validation(request)
        if refused is not None:
            return domain_problem(request, refused)
        errors = []
        for err in exc.errors():
            location = [str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path")]
            errors.append({"code": err.get("type", "invalid"), "field": ".".join(location) or None,
                           "message": err.get("msg", "")})
        first = errors[0] if errors else {"field": None, "message": "invalid"}
        return problem(422, "validation_error", "Dữ liệu không hợp lệ",
                       f"{first['field'] or 'body'}: {first['message']}", request.url.path,
                       field=first["field"], errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        return problem(exc.status_code, code, _TITLES.get(exc.status_code, "Lỗi yêu cầu"), str(exc.detail),
                       request.url.path)

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeoutError)
    async def _database_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s %s", exc.__class__.__name__, str(exc)[:300])
        response = problem(503, "database_unavailable", "Hệ thống tạm thời không truy cập được cơ sở dữ liệu",
                           "Vui lòng thử lại sau ít phút", request.url.path)
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal_error", "Lỗi hệ thống", "Lỗi không mong đợi; đã được ghi nhật ký",
                       request.url.path)
