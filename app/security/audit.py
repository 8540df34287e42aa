"""The tamper-evident audit log: one row per committed write transaction, hash-chained after commit.

The row is appended from the writer session's `before_commit` hook, so it commits or rolls back with the
command it describes, whichever service ran it. Who acted comes from a context variable set by the API's
authorization step (the CLI and background work record themselves as "system").

Appending takes no lock: the row goes in un-chained (no seq, prev_hash, hash), so concurrent commands never
queue behind each other. `chain()` (a worker pump, and the first thing `verify()` does) then links the
committed un-chained rows in id order under one lock (PostgreSQL: an advisory lock; SQLite: writers are
serial anyway): seq, prev_hash = the previous row's hash, hash over the row. `prev_hash` is unique, so the
chain can never fork. A row can be edited or deleted without detection only in the short window before
it is chained (one worker tick).
"""

import hashlib
import json
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from persistence.db import Database
from persistence.dossier_models import Dossier
from persistence.models import ProcessInstance
from persistence.security_models import AuditEvent

GENESIS = "0" * 64
_PG_LOCK_KEY = 0x6D6F7463  # "motc": one advisory lock for the whole chain
PUMP_INTERVAL_SECONDS = 1.0  # how long a row may wait for its link (the window in which edits go unseen)


_WROTE = "motcua_audit_wrote"
_CHAINING = "motcua_audit_chaining"  # the chaining transaction is bookkeeping, not a command: not audited


def _mark_written(session: Session, _flush_context) -> None:
    session.info[_WROTE] = True


def _mark_bulk_write(state) -> None:  # insert()/update()/delete() run through session.execute
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


@dataclass
class AuditContext:
    actor: str | None
    role: str | None
    unit: str | None
    action: str
    target: str | None = None  # "dossier:<code>" or "instance:<id>"
    before_status: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


current: ContextVar[AuditContext | None] = ContextVar("motcua_audit", default=None)


def row_hash(row: AuditEvent) -> str:
    body = {"seq": row.seq, "at": row.at.astimezone(UTC).isoformat(timespec="microseconds"), "actor": row.actor,
            "role": row.role, "unit": row.unit_code, "action": row.action, "target": row.target,
            "before": row.before_status, "after": row.after_status, "data": row.data or {}, "prev": row.prev_hash}
    encoded = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def status_of(session: Session, target: str | None) -> str | None:
    if not target:
        return None
    kind, _, key = target.partition(":")
    if kind == "dossier":
        dossier = session.get(Dossier, key)
        return dossier.status if dossier else None
    if kind == "instance":
        instance = session.get(ProcessInstance, key)
        return instance.status if instance else None
    return None


# the table, not the mapped class: an ORM bulk insert costs ~9% of a task completion for one row
_INSERT_AUDIT = insert(AuditEvent.__table__)


class AuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._pumped_at: datetime | None = None
        db.on_writer_event("after_flush", _mark_written)
        db.on_writer_event("do_orm_execute", _mark_bulk_write)
        db.on_write_commit(self.append)

    def append(self, session: Session) -> None:
        wrote = session.info.pop(_WROTE, False)
        if session.info.get(_CHAINING) or not (wrote or session.new or session.dirty or session.deleted):
            return  # a transaction that changed nothing (e.g. a worker finding no due timer) is not a command
        ctx = current.get() or AuditContext(actor="system", role=None, unit=None, action="internal")
        session.execute(_INSERT_AUDIT, [{
            "at": datetime.now(UTC), "actor": ctx.actor, "role": ctx.role, "unit_code": ctx.unit,
            "action": ctx.action[:255], "target": ctx.target, "before_status": ctx.before_status,
            "after_status": status_of(session, ctx.target), "data": ctx.data}])
        session.info.pop(_WROTE, None)

    def chain(self, batch: int = 1000, *, wait: bool = True) -> int:
        """Link every committed un-chained row, oldest id first; returns how many were linked. With
        wait=False, give up at once when another process is chaining (it links these rows too)."""
        linked = 0
        while True:
            with self.db.transaction() as session:
                session.info[_CHAINING] = True
                if self.db.dialect == "postgresql":
                    lock = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
                    got = session.scalar(text(f"SELECT {lock}(:k)"), {"k": _PG_LOCK_KEY})
                    if got is False:
                        return linked
                rows = list(session.scalars(select(AuditEvent).where(AuditEvent.seq.is_(None))
                                            .order_by(AuditEvent.id).limit(batch)))
                if not rows:
                    return linked
                last = session.execute(select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.is_not(None))
                                       .order_by(AuditEvent.seq.desc()).limit(1)).first()
                seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
                for row in rows:
                    seq += 1
                    row.seq, row.prev_hash = seq, prev
                    row.hash = prev = row_hash(row)
                linked += len(rows)
            if len(rows) < batch:
                return linked

    def pump(self, now: datetime) -> int:
        """The worker's pump: chain what committed since, at most once per PUMP_INTERVAL and without waiting
        for another worker's chaining, so a busy worker spends its time on jobs, not on the chain."""
        if self._pumped_at is not None and abs((now - self._pumped_at).total_seconds()) < PUMP_INTERVAL_SECONDS:
            return 0
        self._pumped_at = now
        return self.chain(wait=False)

    def verify(self, batch: int = 1000) -> dict[str, Any]:
        """Chain what is pending, then walk the chain in order; the first row whose hash or link does not
        match is reported."""
        self.chain()
        checked, prev, after_seq = 0, GENESIS, 0
        with self.db.read() as session:
            while True:
                rows = list(session.scalars(select(AuditEvent).where(AuditEvent.seq > after_seq)
                                            .order_by(AuditEvent.seq).limit(batch)))
                if not rows:
                    return {"ok": True, "checked": checked, "firstBadEventId": None}
                for row in rows:
                    checked += 1
                    if row.prev_hash != prev or row.hash != row_hash(row):
                        return {"ok": False, "checked": checked, "firstBadEventId": row.id}
                    prev, after_seq = row.hash, row.seq
