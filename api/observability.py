"""Pure ASGI middlewares: a request id for every request (X-Request-ID) and the request latency histogram."""

import time

from starlette.types import Message, Receive, Scope, Send

from api.asgi import HttpMiddleware
from app.observability.logs import accept_request_id, request_id_var
from app.observability.metrics import observe_request

HEADER = b"x-request-id"


class RequestId(HttpMiddleware):
    """Accepts the caller's X-Request-ID (or makes one), exposes it to log records, echoes it back."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == HEADER), None)
        request_id = accept_request_id(given)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message["headers"] = [*headers, (HEADER, request_id.encode("latin-1"))]
            await send(message)

        token = request_id_var.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


class RequestTiming(HttpMiddleware):
    """Observes each request's duration under its route template (never the raw path: bounded labels)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            observe_request(scope["method"], route, status, time.perf_counter() - started)
