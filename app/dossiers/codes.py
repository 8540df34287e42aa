"""Dossier codes per Decree 118 Art. 28: `{agency code}-{yyMMdd}-{sequence}`, gapless per agency and day.

The counter row is incremented inside the reception transaction, so a rolled-back reception gives its
number back and concurrent receptions queue on the row lock (PostgreSQL) or the write lock (SQLite).
"""

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.calendar.workdays import LOCAL_TZ
from persistence.dossier_models import DossierSequence


def next_code(session: Session, agency_code: str, received_at: datetime) -> str:
    return next_codes(session, agency_code, received_at, 1)[0]


def next_codes(session: Session, agency_code: str, received_at: datetime, count: int) -> list[str]:
    """`count` consecutive codes of the agency's day with one counter update (bulk imports)."""
    day = received_at.astimezone(LOCAL_TZ).strftime("%y%m%d")
    bump = (update(DossierSequence)
            .where(DossierSequence.agency_code == agency_code, DossierSequence.day == day)
            .values(last_value=DossierSequence.last_value + count)
            .returning(DossierSequence.last_value))
    last = session.scalar(bump)
    if last is None:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(dialect.insert(DossierSequence)
                        .values(agency_code=agency_code, day=day, last_value=0)
                        .on_conflict_do_nothing())
        last = session.scalar(bump)
    return [f"{agency_code}-{day}-{value:04d}" for value in range(last - count + 1, last + 1)]
