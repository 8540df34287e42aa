"""Integration tables: the transactional outbox and the record of inbound messages already handled."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models import Base
from persistence.types import JSONDocument, UTCDateTime, utcnow


class OutboxMessage(Base):
    """A message another system must receive, written in the transaction of the change it reports.

    Delivered at least once, in `sequence` order per (topic, aggregate): a row is sent only when every
    earlier row of its aggregate is delivered, so an incident holds back that dossier's later messages.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("topic", "aggregate", "sequence", name="uq_outbox_topic_aggregate_sequence"),
        Index("ix_outbox_status_next_attempt", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(32))  # dvcqg | moh
    aggregate: Mapped[str] = mapped_column(String(64))  # the dossier code
    sequence: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | incident
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProcessedMessage(Base):
    """An inbound message or idempotent request already answered: a repeat gets the first answer back."""

    __tablename__ = "processed_messages"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
