"""Writing outbox rows inside the change's transaction, and the listeners that decide what to write."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, bindparam, cast, exists, func, insert, select
from sqlalchemy.orm import Session

from app.dossiers.changes import DossierChange
from app.integrations.dvcqg import dossier_payload, step_payload
from persistence.dossier_models import Dossier, DossierDocument, Procedure
from persistence.integration_models import OutboxMessage

DVCQG = "dvcqg"
MOH = "moh"
MOH_HANDOVER = "moh.handover"
PAYMENT = "payment"
PAYMENT_REQUEST = "payment.request"
NOTIFY = "notify"


@dataclass(frozen=True)
class Outgoing:
    """One message a listener wants sent about a dossier."""

    topic: str
    kind: str
    payload: dict[str, Any]


_OUTBOX = OutboxMessage.__table__
_NEXT_SEQUENCE = (select(func.coalesce(func.max(_OUTBOX.c.sequence), 0) + 1)
                  .where(_OUTBOX.c.topic == bindparam("topic"), _OUTBOX.c.aggregate == bindparam("aggregate"))
                  .scalar_subquery())
# The next sequence is read by the INSERT itself: one round trip, not a SELECT and then an INSERT.
_ENQUEUE = insert(_OUTBOX).values(
    topic=bindparam("topic"), aggregate=bindparam("aggregate"), sequence=_NEXT_SEQUENCE, kind=bindparam("kind"),
    idempotency_key=bindparam("key_prefix") + cast(_NEXT_SEQUENCE, String), payload=bindparam("payload"),
    status="pending", attempts=0)


def enqueue(session: Session, topic: str, aggregate: str, kind: str, payload: dict[str, Any]) -> None:
    # The caller has flushed its change of the aggregate, so on PostgreSQL this transaction holds the
    # dossier's row lock (and on SQLite the write lock): the next sequence number cannot be taken twice.
    session.execute(_ENQUEUE, {"topic": topic, "aggregate": aggregate, "kind": kind,
                               "key_prefix": f"{topic}:{aggregate}:", "payload": payload})


def insert_for_new_dossiers(session: Session, messages: list[tuple[str, Outgoing]], now: datetime) -> None:
    """(dossier code, message) pairs, in announcement order, for dossiers first written in this transaction:
    their sequences start at 1, so no number needs reading. One INSERT."""
    sequences: dict[tuple[str, str], int] = defaultdict(int)
    rows = []
    for aggregate, message in messages:
        sequences[(message.topic, aggregate)] += 1
        rows.append({**_row(message.topic, aggregate, sequences[(message.topic, aggregate)], message.kind,
                            message.payload), "next_attempt_at": now, "created_at": now})
    if rows:
        session.execute(insert(OutboxMessage.__table__), rows)


def _row(topic: str, aggregate: str, sequence: int, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"topic": topic, "aggregate": aggregate, "sequence": sequence, "kind": kind,
            "idempotency_key": f"{topic}:{aggregate}:{sequence}", "payload": payload, "status": "pending",
            "attempts": 0}


def _documents(session: Session, code: str) -> list[DossierDocument]:
    return list(session.scalars(select(DossierDocument).where(DossierDocument.dossier_code == code)
                                .order_by(DossierDocument.id)))


# Each listener's `outgoing` decides from the dossier alone (no database): the bulk import calls it for new
# dossiers; `__call__` reads what a live change needs (documents, earlier messages) and enqueues.

class DvcqgSync:
    """Every announced dossier change becomes one message to the national portal: dossier + step."""

    def outgoing(self, dossier: Dossier, change: DossierChange, documents: list[DossierDocument],
                 procedure: Procedure | None) -> Outgoing:
        return Outgoing(DVCQG, f"dossier.{change.kind}", {
            "dossier": dossier_payload(dossier, documents),
            "step": step_payload(dossier, change.kind, change.at, change.actor, change.content)})

    def __call__(self, session: Session, dossier: Dossier, change: DossierChange) -> None:
        session.flush()
        message = self.outgoing(dossier, change, _documents(session, dossier.code), None)
        enqueue(session, message.topic, dossier.code, message.kind, message.payload)


class MohHandover:
    """A dossier that reaches the ministry step is handed to the Ministry's system, once."""

    def outgoing(self, dossier: Dossier, change: DossierChange, documents: list[DossierDocument],
                 procedure: Procedure | None) -> Outgoing | None:
        if not (dossier.moh_route and dossier.current_step == "ministry" and dossier.moh_remote_id is None):
            return None
        return Outgoing(MOH, MOH_HANDOVER, {"dossier": dossier_payload(dossier, documents)})

    def __call__(self, session: Session, dossier: Dossier, change: DossierChange) -> None:
        if self.outgoing(dossier, change, [], None) is None:
            return
        session.flush()
        already = session.scalar(select(exists().where(OutboxMessage.topic == MOH,
                                                       OutboxMessage.aggregate == dossier.code,
                                                       OutboxMessage.kind == MOH_HANDOVER)))
        if not already:
            message = self.outgoing(dossier, change, _documents(session, dossier.code), None)
            assert message is not None
            enqueue(session, message.topic, dossier.code, message.kind, message.payload)


class PaymentRequest:
    """A fee-bearing dossier not paid at reception gets a payment request on the payment platform."""

    def outgoing(self, dossier: Dossier, change: DossierChange, documents: list[DossierDocument],
                 procedure: Procedure | None) -> Outgoing | None:
        if change.kind != "received" or dossier.fee_total <= 0 or dossier.fee_paid:
            return None
        return Outgoing(PAYMENT, PAYMENT_REQUEST, {
            "reference": dossier.code, "amount": dossier.fee_total,
            "items": [{"code": f["code"], "name": f["name"], "amount": f["amount"]}
                      for f in (procedure.fees if procedure else [])],
            "payer": {"name": (dossier.applicant or {}).get("name"), "idNumber": dossier.applicant_id_number},
        })

    def __call__(self, session: Session, dossier: Dossier, change: DossierChange) -> None:
        if self.outgoing(dossier, change, [], None) is None:
            return
        session.flush()
        message = self.outgoing(dossier, change, [], session.get(Procedure, dossier.procedure_code))
        assert message is not None
        enqueue(session, message.topic, dossier.code, message.kind, message.payload)


class StaffNotices:
    """Overdue dossiers and due apology letters become `notify` rows for the unit's notification channel
    (SMS / e-mail gateway); until one is configured they wait, visible in GET /api/v1/outbox."""

    def outgoing(self, dossier: Dossier, change: DossierChange, documents: list[DossierDocument],
                 procedure: Procedure | None) -> Outgoing | None:
        if change.kind not in ("overdue", "apology_due"):
            return None
        return Outgoing(NOTIFY, f"dossier.{change.kind}", {
            "dossierCode": dossier.code, "competentUnit": dossier.competent_unit,
            "receivingUnit": dossier.receiving_unit, "appointmentAt": dossier.appointment_at.isoformat(),
            "message": change.content})

    def __call__(self, session: Session, dossier: Dossier, change: DossierChange) -> None:
        message = self.outgoing(dossier, change, [], None)
        if message is not None:
            session.flush()
            enqueue(session, message.topic, dossier.code, message.kind, message.payload)
