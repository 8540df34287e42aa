"""Security headers on every response, CORS from an allow-list, a per-client rate limit on public routes and
the request size guard.

One pure ASGI middleware instead of three `@app.middleware("http")` ones: those (BaseHTTPMiddleware) run the
rest of the app in a task group with memory streams, which cost about a millisecond of CPU per request each.

The limiter is an in-process token bucket: with several uvicorn workers or machines each process counts
on its own, so a multi-process deployment needs a shared limiter (reverse proxy or Redis) in front.
"""

import threading
import time

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.asgi import HttpMiddleware
from app.settings import Settings

RATE_LIMITED_PREFIXES = ("/api/v1/public/", "/public/", "/api/v1/auth/token", "/api/v1/auth/refresh", "/login")
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
DOCS_PATHS = ("/docs", "/redoc", "/docs/oauth2-redirect")  # Swagger UI loads its own scripts
_ALWAYS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
           (b"referrer-policy", b"no-referrer"), (b"cross-origin-opener-policy", b"same-origin"),
           (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"))
_CSP = (b"content-security-policy", API_POLICY.encode())
_NO_STORE = (b"cache-control", b"no-store")
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class TokenBuckets:
    """`rate` tokens a minute per key, at most `burst` at once."""

    def __init__(self, rate_per_minute: int, burst: int, max_keys: int = 50_000) -> None:
        self.rate = rate_per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when allowed, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if len(self._buckets) >= self.max_keys:
                self._buckets.clear()  # bounded memory under a flood of addresses; limits restart for all
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate if self.rate > 0 else 60.0


def security_headers(path: str, scheme: str, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The response's headers with ours added where the route did not set its own."""
    present = {name.lower() for name, _ in headers}
    wanted = list(_ALWAYS)
    if path not in DOCS_PATHS:
        wanted.append(_CSP)
    if path.startswith("/api/"):
        wanted.append(_NO_STORE)
    if scheme == "https":
        wanted.append(_HSTS)
    return [*headers, *(pair for pair in wanted if pair[0] not in present)]


class Hardening(HttpMiddleware):
    """Refuses oversized bodies (413) and public-route floods (429), and adds the security headers to every
    response from here inwards, refusals included."""

    def __init__(self, app: ASGIApp, *, max_request_bytes: int, buckets: TokenBuckets) -> None:
        super().__init__(app)
        self.max_request = max_request_bytes
        self.buckets = buckets

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, scheme = scope["path"], scope.get("scheme", "http")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = security_headers(path, scheme, list(message.get("headers", [])))
            await send(message)

        refusal = self._refusal(scope, path)
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope: Scope, path: str):
        if path.startswith(RATE_LIMITED_PREFIXES):
            client = scope.get("client")
            wait = self.buckets.take(client[0] if client else "unknown")
            if wait > 0:
                response = errors.problem(429, "too_many_requests", "Quá nhiều yêu cầu",
                                          "Vui lòng thử lại sau ít phút", path)
                response.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
                return response
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None and (not length.isdigit() or int(length) > self.max_request):
            return errors.problem(413, "payload_too_large", "Dữ liệu quá lớn",
                                  f"Yêu cầu vượt quá {self.max_request} byte", path)
        return None


def install(app: FastAPI, settings: Settings) -> None:
    max_request = max(settings.max_upload_bytes * 2, settings.max_document_bytes) + 64 * 1024
    app.add_middleware(Hardening, max_request_bytes=max_request,
                       buckets=TokenBuckets(settings.public_rate_per_minute, settings.public_rate_burst))
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "PUT", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "X-API-Key"], max_age=600)
