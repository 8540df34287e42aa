"""Staff sign-in for the web pages: an HMAC-signed session cookie, and the CSRF token each POST form carries.

The cookie names a user (re-read on every request, so disabling a user or changing a role counts at once)
and a random CSRF token bound to that session. Cookies authenticate only the web pages (/ui/…, /logout),
never /api/…, so the REST API stays free of cross-site request forgery by construction. Before sign-in, the
login form uses a signed double-submit cookie instead.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from fastapi import Request, Response

from app.settings import Settings

SESSION_COOKIE = "motcua_session"
CSRF_COOKIE = "motcua_csrf"
LANG_COOKIE = "motcua_lang"
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """A browser asked for a staff page without a valid session: send it to /login."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


@dataclass(frozen=True)
class WebSession:
    username: str
    csrf: str
    issued_at: int


def is_web_path(path: str) -> bool:
    return path.startswith("/ui/") or path == "/logout"


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


class SessionCodec:
    def __init__(self, secret: str, lifetime_seconds: int) -> None:
        # A key of its own, derived so that a session cookie can never pass as a bearer token or vice versa.
        self._key = hashlib.sha256(b"motcua-web-session\0" + secret.encode()).digest()
        self.lifetime = lifetime_seconds

    def _sign(self, payload: bytes) -> str:
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()
        return _b64(payload) + "." + _b64(mac)

    def _open(self, value: str) -> bytes | None:
        body, _, mac = value.partition(".")
        try:
            payload, given = _unb64(body), _unb64(mac)
        except ValueError:
            return None
        expected = hmac.new(self._key, payload, hashlib.sha256).digest()
        return payload if hmac.compare_digest(given, expected) else None

    def issue(self, username: str) -> tuple[str, WebSession]:
        session = WebSession(username, secrets.token_urlsafe(24), int(time.time()))
        payload = json.dumps({"u": session.username, "c": session.csrf, "t": session.issued_at}).encode()
        return self._sign(payload), session

    def read(self, value: str | None) -> WebSession | None:
        if not value:
            return None
        payload = self._open(value)
        if payload is None:
            return None
        try:
            data = json.loads(payload)
            session = WebSession(str(data["u"]), str(data["c"]), int(data["t"]))
        except (ValueError, KeyError, TypeError):
            return None
        if time.time() - session.issued_at > self.lifetime:
            return None
        return session

    def anonymous_token(self) -> tuple[str, str]:
        """(cookie value, form token) of the pre-sign-in double-submit pair."""
        token = secrets.token_urlsafe(24)
        return self._sign(token.encode()), token

    def anonymous_token_of(self, cookie: str | None) -> str | None:
        payload = self._open(cookie) if cookie else None
        return payload.decode() if payload else None


def set_cookie(response: Response, settings: Settings, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax",
                        secure=settings.web_cookie_secure, path="/")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("bad base64") from exc


def codec_of(request: Request) -> SessionCodec:
    codec = getattr(request.app.state, "web_codec", None)
    if codec is None:
        services = request.app.state.services
        codec = SessionCodec(services.accounts.tokens.secret, services.settings.refresh_token_hours * 3600)
        request.app.state.web_codec = codec
    return codec
