"""Integrations: signed callbacks from the Ministry system and the payment platform; the outbox for admins."""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request

from api.dependencies import services
from api.schemas import MAX_ID
from app.container import Services
from app.integrations.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER
from app.shapes import CamelModel
from persistence.integration_models import OutboxMessage

router = APIRouter(tags=["integrations"])
Svc = Annotated[Services, Depends(services)]
Timestamp = Annotated[str | None, Header(alias=TIMESTAMP_HEADER, max_length=20)]
Signature = Annotated[str | None, Header(alias=SIGNATURE_HEADER, max_length=128)]


class OutboxView(CamelModel):
    id: int
    topic: str
    aggregate: str
    sequence: int
    kind: str
    idempotency_key: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]
    response: dict[str, Any] | None


@router.post("/api/v1/integrations/moh/callback")
async def ministry_callback(request: Request, s: Svc, timestamp: Timestamp = None,
                            signature: Signature = None) -> dict[str, Any]:
    """Kết quả giải quyết từ hệ thống một cửa tập trung của Bộ Y tế (ký HMAC-SHA256)."""
    return s.callbacks.ministry_result(await request.body(), timestamp, signature)


@router.post("/api/v1/integrations/payment/callback")
async def payment_callback(request: Request, s: Svc, timestamp: Timestamp = None,
                           signature: Signature = None) -> dict[str, Any]:
    """Xác nhận thanh toán trực tuyến hoặc hoàn tiền từ nền tảng thanh toán (ký HMAC-SHA256)."""
    return s.callbacks.payment(await request.body(), timestamp, signature)


@router.get("/api/v1/outbox", response_model=list[OutboxView], response_model_by_alias=True)
def list_outbox(s: Svc, status: Literal["pending", "delivered", "incident"] | None = None,
                topic: Annotated[str | None, Query(max_length=32)] = None,
                aggregate: Annotated[str | None, Query(max_length=64)] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100,
                offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> list[OutboxMessage]:
    return s.outbox.find(status=status, topic=topic, aggregate=aggregate, limit=limit, offset=offset)


@router.post("/api/v1/outbox/{message_id}/retry", response_model=OutboxView, response_model_by_alias=True)
def retry_outbox(message_id: Annotated[int, Path(ge=1, le=MAX_ID)], s: Svc) -> OutboxMessage:
    return s.outbox.retry(message_id)
