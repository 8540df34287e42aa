"""Short-lived access JWTs and refresh JWTs (HS256), and JWTs from an external OIDC provider (JWKS)."""

import os
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt

from app.errors import MotcuaError
from app.settings import Settings

ISSUER = "motcua"


class Unauthenticated(MotcuaError):
    """Missing or bad credentials: 401 with a WWW-Authenticate challenge."""

    def __init__(self, detail: str, *, code: str = "unauthorized") -> None:
        super().__init__(detail, code=code, status=401, title="Chưa xác thực")


def load_secret(settings: Settings) -> str:
    """MOTCUA_JWT_SECRET, or a random dev secret created once under ./var so `make run` needs no set-up."""
    if settings.jwt_secret:
        return settings.jwt_secret
    path = Path(settings.jwt_secret_file)
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret)
    return secret


class TokenService:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._secret: str | None = None
        self.access_ttl = timedelta(minutes=settings.access_token_minutes)
        self.refresh_ttl = timedelta(hours=settings.refresh_token_hours)
        self.oidc_issuer = settings.oidc_issuer
        self.oidc_audience = settings.oidc_audience
        self.claims = (settings.oidc_username_claim, settings.oidc_role_claim, settings.oidc_unit_claim)
        self._jwks = jwt.PyJWKClient(settings.oidc_jwks_url, cache_keys=True, lifespan=300, timeout=5) \
            if settings.oidc_issuer and settings.oidc_jwks_url else None

    @property
    def secret(self) -> str:
        # Read (or created) on first use, so CLI commands that never touch tokens write nothing under ./var.
        if self._secret is None:
            self._secret = load_secret(self._settings)
        return self._secret

    def issue(self, username: str, role: str, unit: str) -> dict[str, Any]:
        now = datetime.now(UTC)
        common = {"iss": ISSUER, "sub": username, "role": role, "unit": unit, "iat": now}
        access = jwt.encode({**common, "typ": "access", "exp": now + self.access_ttl}, self.secret, "HS256")
        refresh = jwt.encode({**common, "typ": "refresh", "jti": uuid.uuid4().hex, "exp": now + self.refresh_ttl},
                             self.secret, "HS256")
        return {"access_token": access, "token_type": "bearer", "expires_in": int(self.access_ttl.total_seconds()),
                "refresh_token": refresh}

    def decode_local(self, token: str, typ: str) -> dict[str, Any]:
        try:
            claims = jwt.decode(token, self.secret, algorithms=["HS256"], issuer=ISSUER,
                                options={"require": ["exp", "sub", "iss"]})
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"Mã truy cập không hợp lệ hoặc đã hết hạn ({exc.__class__.__name__})",
                                  code="invalid_token") from exc
        if claims.get("typ") != typ:
            raise Unauthenticated("Sai loại mã truy cập", code="invalid_token")
        return claims

    def is_external(self, token: str) -> bool:
        if self._jwks is None:
            return False
        try:
            return jwt.decode(token, options={"verify_signature": False}).get("iss") == self.oidc_issuer
        except jwt.PyJWTError:
            return False

    def decode_external(self, token: str) -> tuple[str, str | None, str | None]:
        """(username, role, unit) from a token signed by the configured identity provider's JWKS."""
        assert self._jwks is not None
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(token, key.key, algorithms=["RS256", "ES256", "PS256"], issuer=self.oidc_issuer,
                                audience=self.oidc_audience, options={"require": ["exp", "iss", "sub"],
                                                                     "verify_aud": self.oidc_audience is not None})
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"Mã của nhà cung cấp định danh không hợp lệ ({exc.__class__.__name__})",
                                  code="invalid_token") from exc
        username_claim, role_claim, unit_claim = self.claims
        role = claims.get(role_claim)
        if isinstance(role, list):  # providers often send roles as a list; the first known one counts
            role = role[0] if role else None
        return str(claims.get(username_claim) or claims["sub"]), role, claims.get(unit_claim)
