"""Dossier codes per Decree 118 Art. 28: `{agency code}-{yyMMdd}-{sequence}`, gapless per agency and day.

The counter row is incremented inside the reception transaction, so a rolled-back reception gives its
number back and concurrent receptions queue on the row lock (PostgreSQL) or the write lock (SQLite).
"""

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.calendar.workdays import LOCAL_TZ
from persistence.dossier_models import DossierSequence


def next_code(session: Session, agency_code: str, received_at: datetime) -> str:
    key = (agency_code, day_of(received_at))
    return codes_by_day(session, {key: 1})[key][0]


def day_of(received_at: datetime) -> str:
    return received_at.astimezone(LOCAL_TZ).strftime("%y%m%d")


def codes_by_day(session: Session, counts: dict[tuple[str, str], int]) -> dict[tuple[str, str], list[str]]:
    """For each (agency, yyMMdd day) its next `count` codes, every counter moved by one statement (an upsert,
    which also makes a day's first counter); the counters are taken in a fixed order, so two bulk importers
    can't deadlock."""
    if not counts:
        return {}
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = DossierSequence.__table__
    upsert = dialect.insert(table).values([{"agency_code": agency, "day": day, "last_value": count}
                                           for (agency, day), count in sorted(counts.items())])
    upsert = upsert.on_conflict_do_update(
        index_elements=[table.c.agency_code, table.c.day],
        set_={"last_value": table.c.last_value + upsert.excluded.last_value},
    ).returning(table.c.agency_code, table.c.day, table.c.last_value)
    out = {}
    for agency, day, last in session.execute(upsert):
        count = counts[(agency, day)]
        out[(agency, day)] = [f"{agency}-{day}-{value:04d}" for value in range(last - count + 1, last + 1)]
    return out
