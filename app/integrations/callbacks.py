"""Signed callbacks from the Ministry of Health's system (a dossier's result) and the payment platform."""

import contextlib
import logging
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import Field, ValidationError
from sqlalchemy.orm import Session

from app.dossiers.tracking import MINISTRY_MESSAGE
from app.errors import Conflict, InvalidInput, NotFound, invalid_body
from app.integrations import signatures
from app.integrations.connectors import DeliveryFailed
from app.integrations.inbound import InboundOnce
from app.processes.instances import InstanceService
from app.shapes import CamelModel
from persistence.dossier_models import Dossier
from persistence.integration_models import OutboxMessage

log = logging.getLogger("motcua.integrations")

PAYMENT_MESSAGE = "payment_confirmed"


class MinistryResult(CamelModel):
    callback_id: str = Field(min_length=1, max_length=128)
    dossier_code: str = Field(min_length=1, max_length=64)
    remote_id: str | None = Field(default=None, max_length=64)
    approved: bool
    decision_number: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=4000)


class PaymentNotice(CamelModel):
    transaction_id: str = Field(min_length=1, max_length=128)
    reference: str = Field(min_length=1, max_length=64, description="Mã hồ sơ")
    amount: int = Field(ge=0, le=1_000_000_000)
    status: Literal["paid", "refunded"]
    paid_at: datetime | None = None


class SignedCallbacks:
    def __init__(self, instances: InstanceService, inbound: InboundOnce, *, moh_secret: str | None,
                 payment_secret: str | None, window_seconds: int) -> None:
        self.instances = instances
        self.inbound = inbound
        self.secrets = {"moh": moh_secret, "payment": payment_secret}
        self.window_seconds = window_seconds

    def ministry_result(self, raw: bytes, timestamp: str | None, signature: str | None) -> dict[str, Any]:
        body, result = self._open("moh", raw, timestamp, signature, MinistryResult)

        def act(session: Session) -> dict[str, Any]:
            dossier = _dossier(session, result.dossier_code)
            if not dossier.moh_route:
                raise Conflict(f"Hồ sơ {dossier.code} không được chuyển hệ thống Bộ Y tế", code="not_ministry_dossier")
            if dossier.moh_remote_id and result.remote_id and result.remote_id != dossier.moh_remote_id:
                raise InvalidInput("remoteId không khớp với mã hồ sơ bên hệ thống Bộ", field="remoteId",
                                   code="remote_id_mismatch")
            try:
                self.instances.message_in(session, MINISTRY_MESSAGE, business_key=dossier.code, instance_id=None,
                                          variables={"moh_approved": result.approved,
                                                     "moh_decision": result.decision_number},
                                          actor="he-thong-bo-y-te")
            except NotFound as exc:
                raise Conflict(f"Hồ sơ {dossier.code} không còn chờ kết quả từ hệ thống Bộ (kết quả đến muộn)",
                               code="not_waiting_for_ministry") from exc
            dossier.moh_remote_id = dossier.moh_remote_id or result.remote_id
            dossier.result = {**(dossier.result or {}), "number": result.decision_number,
                              "approved": result.approved, "note": result.note, "source": "moh"}
            return {"dossierCode": dossier.code, "status": dossier.status, "statusCode": dossier.status_code}

        return self.inbound.run(f"moh:{result.callback_id}", body, act)

    def payment(self, raw: bytes, timestamp: str | None, signature: str | None) -> dict[str, Any]:
        body, notice = self._open("payment", raw, timestamp, signature, PaymentNotice)

        def act(session: Session) -> dict[str, Any]:
            dossier = _dossier(session, notice.reference, field="reference")
            if notice.amount != dossier.fee_total:
                raise InvalidInput(f"Số tiền {notice.amount} khác phí, lệ phí của hồ sơ ({dossier.fee_total})",
                                   field="amount", code="amount_mismatch")
            now = datetime.now(UTC)
            payment = dict(dossier.payment or {})
            if notice.status == "paid":
                dossier.fee_paid = True
                dossier.payment_channel = "online"
                payment.update(transactionId=notice.transaction_id, amount=notice.amount,
                               paidAt=(notice.paid_at or now).isoformat())
                self._advance_waiting_payment(session, dossier)
            else:
                if payment.get("transactionId") != notice.transaction_id:
                    raise Conflict("Không có giao dịch thanh toán này để hoàn tiền", code="unknown_transaction")
                dossier.fee_paid = False
                payment.update(refundedAt=now.isoformat())
            dossier.payment = payment
            dossier.updated_at = now
            return {"dossierCode": dossier.code, "feePaid": dossier.fee_paid, "paymentChannel": dossier.payment_channel}

        return self.inbound.run(f"payment:{notice.transaction_id}:{notice.status}", body, act)

    def _advance_waiting_payment(self, session: Session, dossier: Dossier) -> None:
        # A diagram may wait for the payment (message catch `payment_confirmed`); most do not.
        with contextlib.suppress(NotFound):
            self.instances.message_in(session, PAYMENT_MESSAGE, business_key=dossier.code, instance_id=None,
                                      variables={"fee_paid": True}, actor="nen-tang-thanh-toan")

    def _open(self, source: str, raw: bytes, timestamp: str | None, signature: str | None, shape):
        try:
            signatures.verify(self.secrets[source], timestamp, signature, raw, datetime.now(UTC),
                              self.window_seconds)
        except signatures.BadSignature as exc:
            log.warning("refused %s callback: %s", source, exc.code)
            raise
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput("Nội dung không phải JSON hợp lệ", code="malformed_json", field="body") from exc
        try:
            return body, shape.model_validate(body)
        except ValidationError as exc:
            raise invalid_body("Lời gọi lại không hợp lệ", exc.errors()) from exc


def _dossier(session: Session, code: str, field: str = "dossierCode") -> Dossier:
    dossier = session.get(Dossier, code)
    if dossier is None:
        raise NotFound(f"Không có hồ sơ '{code}'", code="unknown_dossier", field=field)
    return dossier


def keep_ministry_id(session: Session, message: OutboxMessage, response: dict[str, Any]) -> None:
    """After the hand-over, the Ministry system's id is what its callbacks and our staff refer to."""
    remote_id = response.get("remoteId")
    if not isinstance(remote_id, str) or not remote_id:
        raise DeliveryFailed(f"hệ thống Bộ không trả về remoteId: {response!r}"[:300])
    dossier = session.get(Dossier, message.aggregate)
    if dossier is not None and dossier.moh_remote_id is None:
        dossier.moh_remote_id = remote_id
