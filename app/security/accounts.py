"""Staff users and integrator API keys, and turning presented credentials into a Principal."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidInput, NotFound
from app.security.passwords import hash_password, verify_password
from app.security.principal import Principal
from app.security.roles import ROLES, UNIT_SCOPED, Role
from app.security.tokens import TokenService, Unauthenticated
from persistence.db import Database
from persistence.dossier_models import Unit
from persistence.security_models import ApiKey, User

KEY_PREFIX = "mc_"


def key_hash(key: str) -> str:
    # Keys are 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class UserInfo:
    username: str
    full_name: str
    role: str
    unit: str
    active: bool


@dataclass(frozen=True)
class NewApiKey:
    id: int
    name: str
    key: str  # shown once


class AccountService:
    def __init__(self, db: Database, tokens: TokenService, bootstrap_api_key: str | None = None) -> None:
        self.db = db
        self.tokens = tokens
        self._bootstrap_hash = key_hash(bootstrap_api_key) if bootstrap_api_key else None

    # --- users ---------------------------------------------------------------------------------

    def create_user(self, username: str, password: str, role: str, unit: str, full_name: str | None = None) -> UserInfo:
        _check_role(role)
        if len(password) < 10:
            raise InvalidInput("Mật khẩu phải có ít nhất 10 ký tự", field="password", code="weak_password")
        with self.db.transaction() as session:
            _check_unit(session, unit)
            if session.scalar(select(User.id).where(User.username == username)) is not None:
                raise Conflict(f"Tên đăng nhập '{username}' đã có", code="username_taken")
            user = User(username=username, full_name=full_name or username, password_hash=hash_password(password),
                        role=role, unit_code=unit, active=True, created_at=datetime.now(UTC))
            session.add(user)
            return _info(user)

    def list_users(self) -> list[UserInfo]:
        with self.db.read() as session:
            return [_info(u) for u in session.scalars(select(User).order_by(User.username))]

    def set_active(self, username: str, active: bool) -> UserInfo:
        with self.db.transaction() as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise NotFound(f"Không có người dùng '{username}'", field="username")
            user.active = active
            return _info(user)

    def login(self, username: str, password: str) -> dict:
        with self.db.read() as session:
            user = session.scalar(select(User).where(User.username == username))
        if not verify_password(user.password_hash if user else None, password) or user is None or not user.active:
            raise Unauthenticated("Sai tên đăng nhập hoặc mật khẩu", code="invalid_credentials")
        return self.tokens.issue(user.username, user.role, user.unit_code)

    def refresh(self, refresh_token: str) -> dict:
        claims = self.tokens.decode_local(refresh_token, "refresh")
        principal = self._user_principal(claims["sub"])  # a disabled user gets no new token
        assert principal.unit is not None
        return self.tokens.issue(principal.subject, principal.role, principal.unit)

    # --- API keys ------------------------------------------------------------------------------

    def create_api_key(self, name: str, role: str = Role.INTEGRATOR, unit: str | None = None,
                       scopes: list[str] | None = None) -> NewApiKey:
        _check_role(role)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self.db.transaction() as session:
            if unit:
                _check_unit(session, unit)
            elif role in UNIT_SCOPED:
                raise InvalidInput(f"Vai trò '{role}' cần một đơn vị", field="unit")
            row = ApiKey(name=name, prefix=key[:11], key_hash=key_hash(key), role=role, unit_code=unit,
                         scopes=sorted(set(scopes or [])), created_at=datetime.now(UTC))
            session.add(row)
            session.flush()
            return NewApiKey(row.id, name, key)

    def revoke_api_key(self, key_id: int) -> None:
        with self.db.transaction() as session:
            row = session.get(ApiKey, key_id)
            if row is None:
                raise NotFound(f"Không có khóa API số {key_id}", field="id")
            row.revoked_at = row.revoked_at or datetime.now(UTC)

    def list_api_keys(self) -> list[ApiKey]:
        with self.db.read() as session:
            return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))

    # --- credentials → principal -----------------------------------------------------------------

    def from_api_key(self, key: str, on_behalf_of: str | None = None) -> Principal:
        digest = key_hash(key)
        if self._bootstrap_hash and hmac.compare_digest(digest, self._bootstrap_hash):
            return Principal("apikey:bootstrap", Role.SYSTEM_ADMIN, None, "bootstrap", on_behalf_of=on_behalf_of)
        with self.db.read() as session:
            row = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
            if row is None or row.revoked_at is not None:
                raise Unauthenticated("Khóa API không hợp lệ hoặc đã bị thu hồi", code="invalid_api_key")
            agency = _agency(session, row.unit_code)
        behalf = on_behalf_of if row.role == Role.SYSTEM_ADMIN else None
        return Principal(f"apikey:{row.prefix}", row.role, row.unit_code, "apikey", agency, frozenset(row.scopes),
                         behalf)

    def from_bearer(self, token: str) -> Principal:
        if self.tokens.is_external(token):
            username, role, unit = self.tokens.decode_external(token)
            if role not in ROLES:
                raise Unauthenticated("Mã định danh không mang vai trò hợp lệ", code="invalid_token")
            if role in UNIT_SCOPED and not unit:
                raise Unauthenticated("Mã định danh không mang đơn vị", code="invalid_token")
            with self.db.read() as session:
                agency = _agency(session, unit)
            return Principal(username, role, unit, "oidc", agency)
        claims = self.tokens.decode_local(token, "access")
        return self._user_principal(claims["sub"])

    def user_principal(self, username: str) -> Principal:
        """The principal of a signed-in user (the web session cookie names only the username)."""
        return self._user_principal(username)

    def _user_principal(self, username: str) -> Principal:
        # Read per request so that disabling a user or changing a role takes effect at once.
        with self.db.read() as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is None or not user.active:
                raise Unauthenticated("Tài khoản không tồn tại hoặc đã bị khóa", code="account_disabled")
            return Principal(user.username, user.role, user.unit_code, "user", _agency(session, user.unit_code))


def _agency(session: Session, unit: str | None) -> str | None:
    if not unit:
        return None
    row = session.get(Unit, unit)
    return (row.parent_code or row.code) if row else unit


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidInput(f"Vai trò '{role}' không có; dùng: {', '.join(sorted(ROLES))}", field="role",
                           code="unknown_role")


def _check_unit(session: Session, unit: str) -> None:
    if session.get(Unit, unit) is None:
        raise InvalidInput(f"Không có đơn vị '{unit}' (nạp danh mục trước: motcua catalogue load)", field="unit",
                           code="unknown_unit")


def _info(user: User) -> UserInfo:
    return UserInfo(user.username, user.full_name, user.role, user.unit_code, user.active)
