"""Refuse text no database can store before any route sees it: NUL characters and lone UTF-16 surrogates in
the path, the query string or a JSON body (JSON allows both as escapes; PostgreSQL rejects NUL in text and
JSONB, and neither database can encode a lone surrogate). Answers 422 problem+json `invalid_text`."""

import json
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import Message, Receive, Scope, Send

from api.asgi import HttpMiddleware
from api.errors import problem

_CHECKED_BODY_BYTES = 8 * 1024 * 1024  # larger bodies are refused as too large further in


def _bad_text(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _bad_value(value: Any) -> bool:
    if isinstance(value, str):
        return _bad_text(value)
    if isinstance(value, dict):
        return any(_bad_text(k) or _bad_value(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_bad_value(v) for v in value)
    return False


def _bad_query(raw: bytes) -> bool:
    decoded = unquote_to_bytes(raw.replace(b"+", b" "))
    if b"\x00" in decoded:
        return True
    try:
        decoded.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


class TextGuard(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _bad_text(scope.get("path", "")) or _bad_query(scope.get("query_string", b"")):
            await self._refuse(scope, receive, send, "đường dẫn hoặc tham số truy vấn")
            return
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        length = headers.get(b"content-length", b"0")
        if not (content_type == b"application/json" or content_type.endswith(b"+json")) or (
                length.isdigit() and int(length) > _CHECKED_BODY_BYTES):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None  # malformed JSON is the route's 422
        if _bad_value(parsed):
            await self._refuse(scope, receive, send, "nội dung JSON")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, where: str) -> None:
        response = problem(422, "invalid_text", "Dữ liệu không hợp lệ",
                           f"{where.capitalize()} chứa ký tự NUL hoặc ký tự Unicode không hợp lệ",
                           scope.get("path", "").encode("utf-8", "replace").decode("utf-8"))
        await response(scope, receive, send)
