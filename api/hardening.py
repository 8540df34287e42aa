"""Security headers on every response, CORS from an allow-list, and a per-client rate limit on public routes.

The limiter is an in-process token bucket: with several uvicorn workers or machines each process counts
on its own, so a multi-process deployment needs a shared limiter (reverse proxy or Redis) in front.
"""

import threading
import time

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware

from api import errors
from app.settings import Settings

RATE_LIMITED_PREFIXES = ("/api/v1/public/", "/public/", "/api/v1/auth/token", "/api/v1/auth/refresh", "/login")
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
DOCS_PATHS = ("/docs", "/redoc", "/docs/oauth2-redirect")  # Swagger UI loads its own scripts


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


def install(app: FastAPI, settings: Settings) -> None:
    buckets = TokenBuckets(settings.public_rate_per_minute, settings.public_rate_burst)

    @app.middleware("http")
    async def rate_limit_public(request: Request, call_next):
        if request.url.path.startswith(RATE_LIMITED_PREFIXES):
            client = request.client.host if request.client else "unknown"
            wait = buckets.take(client)
            if wait > 0:
                response = errors.problem(429, "too_many_requests", "Quá nhiều yêu cầu",
                                          "Vui lòng thử lại sau ít phút", request.url.path)
                response.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
                return response
        return await call_next(request)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if request.url.path not in DOCS_PATHS:
            headers.setdefault("Content-Security-Policy", API_POLICY)
        if request.url.path.startswith("/api/") and "cache-control" not in headers:
            headers["Cache-Control"] = "no-store"
        if request.url.scheme == "https":
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response

    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "PUT", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "X-API-Key"], max_age=600)
