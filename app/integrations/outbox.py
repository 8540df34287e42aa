"""Writing outbox rows inside the change's transaction, and the listeners that decide what to write."""

from typing import Any

from sqlalchemy import exists, func, select
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


def enqueue(session: Session, topic: str, aggregate: str, kind: str, payload: dict[str, Any]) -> OutboxMessage:
    # The caller has flushed its change of the aggregate, so on PostgreSQL this transaction holds the
    # dossier's row lock (and on SQLite the write lock): the next sequence number cannot be taken twice.
    last = session.scalar(select(func.max(OutboxMessage.sequence))
                          .where(OutboxMessage.topic == topic, OutboxMessage.aggregate == aggregate))
    sequence = (last or 0) + 1
    message = OutboxMessage(topic=topic, aggregate=aggregate, sequence=sequence, kind=kind,
                            idempotency_key=f"{topic}:{aggregate}:{sequence}", payload=payload,
                            status="pending", attempts=0)
    session.add(message)
    return message


def _documents(session: Session, code: str) -> list[DossierDocument]:
    return list(session.scalars(select(DossierDocument).where(DossierDocument.dossier_code == code)
                                .order_by(DossierDocument.id)))


class DvcqgSync:
    """Every announced dossier change becomes one message to the national portal: dossier + step."""

    def __call__(self, session: Session, dossier: Dossier, change: DossierChange) -> None:
        session.flush()
        payload = {"dossier": dossier_payload(dossier, _documents(session, dossier.code)),
                   "step": step_payload(dossier, change.kind, change.at, change.actor, change.content)}
        enqueue(session, DVCQG, dossier.code, f"dossier.{change.kind}", payload)


class MohHandover:
    """A dossier that reaches the ministry step is handed to the Ministry's system, once."""

    def __call__(self, session: Session, dossier: Dossier, change: DossierChange) -> None:
        if not (dossier.moh_route and dossier.current_step == "ministry" and dossier.moh_remote_id is None):
            return
        session.flush()
        already = session.scalar(select(exists().where(OutboxMessage.topic == MOH,
                                                       OutboxMessage.aggregate == dossier.code,
                                                       OutboxMessage.kind == MOH_HANDOVER)))
        if not already:
            enqueue(session, MOH, dossier.code, MOH_HANDOVER,
                    {"dossier": dossier_payload(dossier, _documents(session, dossier.code))})


class PaymentRequest:
    """A fee-bearing dossier not paid at reception gets a payment request on the payment platform."""

    def __call__(self, session: Session, dossier: Dossier, change: DossierChange) -> None:
        if change.kind != "received" or dossier.fee_total <= 0 or dossier.fee_paid:
            return
        session.flush()
        procedure = session.get(Procedure, dossier.procedure_code)
        enqueue(session, PAYMENT, dossier.code, PAYMENT_REQUEST, {
            "reference": dossier.code, "amount": dossier.fee_total,
            "items": [{"code": f["code"], "name": f["name"], "amount": f["amount"]}
                      for f in (procedure.fees if procedure else [])],
            "payer": {"name": (dossier.applicant or {}).get("name"), "idNumber": dossier.applicant_id_number},
        })


class StaffNotices:
    """Overdue dossiers and due apology letters become `notify` rows for the unit's notification channel
    (SMS / e-mail gateway); until one is configured they wait, visible in GET /api/v1/outbox."""

    def __call__(self, session: Session, dossier: Dossier, change: DossierChange) -> None:
        if change.kind not in ("overdue", "apology_due"):
            return
        session.flush()
        enqueue(session, NOTIFY, dossier.code, f"dossier.{change.kind}", {
            "dossierCode": dossier.code, "competentUnit": dossier.competent_unit,
            "receivingUnit": dossier.receiving_unit, "appointmentAt": dossier.appointment_at.isoformat(),
            "message": change.content})
