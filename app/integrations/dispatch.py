"""Delivering outbox rows: claim the head of each dossier's queue, send, then mark, retry later or raise an incident.

Any number of dispatchers run side by side on PostgreSQL (`FOR UPDATE SKIP LOCKED`). The HTTP call happens
inside the claiming transaction, so a dispatcher killed mid-delivery leaves its rows pending; the receiver
deduplicates by the idempotency key (at-least-once delivery).
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from app.errors import Conflict, NotFound
from app.integrations.connectors import Connector, DeliveryFailed
from persistence.db import Database
from persistence.integration_models import OutboxMessage

# Called in the delivery transaction with the receiver's answer, e.g. to keep the Ministry system's id.
DeliveryHandler = Callable[[Session, OutboxMessage, dict[str, Any]], None]


@dataclass
class Retry:
    max_attempts: int = 8
    base_delay_seconds: float = 2.0
    max_delay_seconds: float = 900.0

    def delay(self, attempts: int, draw: Callable[[], float] = random.random) -> timedelta:
        # "Full jitter": a random wait up to the exponential cap, so retries from many rows spread out.
        cap = min(self.max_delay_seconds, self.base_delay_seconds * 2 ** (attempts - 1))
        return timedelta(seconds=cap * (0.5 + draw() / 2))


@dataclass
class Delivered:
    delivered: int = 0
    failed: int = 0
    incidents: int = 0


class OutboxDispatcher:
    def __init__(self, db: Database, connectors: dict[str, Connector], *, retry: Retry | None = None,
                 handlers: dict[str, DeliveryHandler] | None = None, batch_size: int = 20) -> None:
        self.db = db
        self.connectors = connectors
        self.retry = retry or Retry()
        self.handlers = handlers or {}
        self.batch_size = batch_size

    def deliver_due(self, now: datetime | None = None) -> Delivered:
        now = now or datetime.now(UTC)
        outcome = Delivered()
        with self.db.transaction() as session:
            for message in session.scalars(_claim_heads(now, self.batch_size, list(self.connectors))).all():
                try:
                    response = self.connectors[message.topic].send(message)
                    handler = self.handlers.get(message.kind)
                    if handler is not None:
                        handler(session, message, response)
                except DeliveryFailed as exc:
                    self._failed(message, str(exc), now, outcome)
                else:
                    message.status = "delivered"
                    message.attempts += 1
                    message.delivered_at = now
                    message.response = response
                    message.last_error = None
                    outcome.delivered += 1
        return outcome

    def _failed(self, message: OutboxMessage, error: str, now: datetime, outcome: Delivered) -> None:
        message.attempts += 1
        message.last_error = error[:2000]
        if message.attempts >= self.retry.max_attempts:
            message.status = "incident"
            outcome.incidents += 1
        else:
            message.next_attempt_at = now + self.retry.delay(message.attempts)
            outcome.failed += 1


def _claim_heads(now: datetime, limit: int, topics: list[str]):
    """Due pending rows with no undelivered predecessor in their dossier's queue, locked for this dispatcher.

    Only topics with a configured connector are claimed: the others wait, visible, until one is configured.
    """
    earlier = aliased(OutboxMessage)
    blocked = exists().where(earlier.topic == OutboxMessage.topic, earlier.aggregate == OutboxMessage.aggregate,
                             earlier.sequence < OutboxMessage.sequence, earlier.status != "delivered")
    return (select(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now,
                   OutboxMessage.topic.in_(topics), ~blocked)
            .order_by(OutboxMessage.id).limit(limit)
            .with_for_update(skip_locked=True, of=OutboxMessage))


class OutboxAdmin:
    """What an admin sees and does: list rows by status, put an incident back in the queue, counts."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def find(self, *, status: str | None, topic: str | None, aggregate: str | None, limit: int,
             offset: int) -> list[OutboxMessage]:
        query = select(OutboxMessage).order_by(OutboxMessage.id).limit(limit).offset(offset)
        if status:
            query = query.where(OutboxMessage.status == status)
        if topic:
            query = query.where(OutboxMessage.topic == topic)
        if aggregate:
            query = query.where(OutboxMessage.aggregate == aggregate)
        with self.db.read() as session:
            return list(session.scalars(query))

    def retry(self, message_id: int) -> OutboxMessage:
        with self.db.transaction() as session:
            message = session.get(OutboxMessage, message_id, with_for_update=True)
            if message is None:
                raise NotFound(f"Không có thông điệp {message_id} trong hàng đợi gửi đi", field="id")
            if message.status != "incident":
                raise Conflict(f"Thông điệp {message_id} đang ở trạng thái '{message.status}', không phải sự cố",
                               code="not_an_incident")
            message.status = "pending"
            message.attempts = 0
            message.next_attempt_at = datetime.now(UTC)
            return message

    def counts(self) -> list[tuple[str, str, int, int]]:
        """(topic, status, rows, attempts) for the Prometheus text endpoint."""
        with self.db.read() as session:
            rows = session.execute(select(OutboxMessage.topic, OutboxMessage.status, func.count(),
                                          func.coalesce(func.sum(OutboxMessage.attempts), 0))
                                   .group_by(OutboxMessage.topic, OutboxMessage.status))
            return [(topic, status, int(count), int(attempts)) for topic, status, count, attempts in rows]
