"""HMAC-SHA256 signatures on callbacks: `hex(hmac(secret, f"{timestamp}.{body}"))`, within a replay window."""

import hashlib
import hmac
from datetime import datetime

from app.errors import MotcuaError

TIMESTAMP_HEADER = "X-Motcua-Timestamp"
SIGNATURE_HEADER = "X-Motcua-Signature"


class BadSignature(MotcuaError):
    def __init__(self, detail: str, *, code: str = "bad_signature") -> None:
        super().__init__(detail, code=code, status=401, title="Chữ ký không hợp lệ", field=SIGNATURE_HEADER)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify(secret: str | None, timestamp: str | None, signature: str | None, body: bytes, now: datetime,
           window_seconds: int) -> None:
    if not secret:
        raise BadSignature("Chưa cấu hình khoá bí mật cho lời gọi lại này", code="callback_not_configured")
    if not timestamp or not signature:
        raise BadSignature(f"Thiếu {TIMESTAMP_HEADER} hoặc {SIGNATURE_HEADER}")
    try:
        sent_at = int(timestamp)
    except ValueError as exc:
        raise BadSignature("Dấu thời gian không phải số giây", code="bad_timestamp") from exc
    if abs(now.timestamp() - sent_at) > window_seconds:
        raise BadSignature(f"Dấu thời gian lệch quá {window_seconds} giây (chống gửi lại)", code="stale_timestamp")
    if not hmac.compare_digest(sign(secret, sent_at, body), signature.strip().lower()):
        raise BadSignature("Chữ ký không khớp với nội dung")
