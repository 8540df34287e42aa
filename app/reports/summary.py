"""The daily summary (quality_daily): recounted incrementally where dossiers changed, summed by reports.

The rows of one reception day, procedure and unit are recomputed (delete, then INSERT … SELECT with the same
counts as the live query) when one of its dossiers was written, rated, or passed its appointment since
the last refresh. So a year's report sums about a hundred thousand rows instead of reading a million dossiers.
"""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, and_, delete, func, insert, literal, or_, select, text, tuple_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from app.calendar.workdays import LOCAL_TZ
from app.reports.figures import CITY, COUNT_FIELDS, Counts, counts_of, grouped
from persistence.dossier_models import Dossier, Procedure
from persistence.report_models import DossierRating, QualityDaily, ReportRefresh

SUMMARY = "quality_daily"
# Each refresh looks this far behind the previous one: a transaction that commits after a refresh started,
# with an earlier updated_at, is still caught. Re-counting a day is idempotent, so the overlap costs little.
OVERLAP = timedelta(minutes=2)
REFRESH_LOCK = 766_0001  # PostgreSQL advisory lock: one refresh at a time


class local_day(FunctionElement[date]):
    """The Asia/Ho_Chi_Minh calendar day of a UTC timestamp column."""

    type = Date()
    inherit_cache = True


@compiles(local_day, "postgresql")
def _local_day_pg(element: local_day, compiler: Any, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)} AT TIME ZONE 'Asia/Ho_Chi_Minh') AS DATE)"


@compiles(local_day, "sqlite")
def _local_day_sqlite(element: local_day, compiler: Any, **kw: Any) -> str:
    # SQLite keeps naive UTC text; Viet Nam has had a fixed +07:00 offset without summer time since 1975.
    return f"date({compiler.process(element.clauses, **kw)}, '+7 hours')"


def day_start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=LOCAL_TZ).astimezone(UTC)


def refresh(session: Session, now: datetime) -> int:
    """Bring the summary up to `now`; returns how many (day, procedure, unit) cells were recounted (-1: all)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": REFRESH_LOCK})
    mark = session.get(ReportRefresh, SUMMARY)
    if mark is None:
        session.execute(delete(QualityDaily))
        # Month by month, cut at local midnight: each statement stays well under the statement timeout,
        # and a local day is never split between two inserts.
        first, last = session.execute(select(func.min(Dossier.received_at), func.max(Dossier.received_at))).one()
        if first is not None:
            month = first.astimezone(LOCAL_TZ).date().replace(day=1)
            while day_start(month) <= last:
                following = (month + timedelta(days=32)).replace(day=1)
                _recount(session, and_(Dossier.received_at >= day_start(month),
                                       Dossier.received_at < day_start(following)), now)
                month = following
        recounted = -1
    else:
        since = mark.refreshed_at - OVERLAP
        d = Dossier
        changed = select(d.code).where(or_(
            d.updated_at > since,
            # still open and its appointment passed since: it turned late without being written
            and_(d.finished_at.is_(None), d.stopped_at.is_(None), d.appointment_at > since,
                 d.appointment_at <= now)))
        rated = select(DossierRating.dossier_code).where(DossierRating.rated_at > since)
        # Recounted per (day, procedure, unit); a transferred dossier also left its count in the units it
        # was transferred from, so those are recounted too.
        stale: dict[date, set[tuple[str, str]]] = defaultdict(set)
        rows = session.execute(select(d.received_at, d.procedure_code, d.competent_unit, d.transfers)
                               .where(d.code.in_(changed.union(rated))))
        for received_at, procedure, unit, transfers in rows:
            day = received_at.astimezone(LOCAL_TZ).date()
            stale[day].add((procedure, unit))
            stale[day].update((procedure, t["from"]) for t in transfers or [] if isinstance(t, dict) and t.get("from"))
        for day, pairs in sorted(stale.items()):
            session.execute(delete(QualityDaily).where(
                QualityDaily.day == day, tuple_(QualityDaily.procedure_code, QualityDaily.competent_unit).in_(pairs)))
            _recount(session, and_(d.received_at >= day_start(day), d.received_at < day_start(day + timedelta(days=1)),
                                   tuple_(d.procedure_code, d.competent_unit).in_(pairs)), now)
        recounted = sum(len(pairs) for pairs in stale.values())
    if mark is None:
        session.add(ReportRefresh(name=SUMMARY, refreshed_at=now))
    else:
        mark.refreshed_at = now
    session.flush()
    return recounted


def refreshed_at(session: Session) -> datetime | None:
    """Up to when the summary is counted; None before its first refresh or after a bulk load."""
    return session.scalar(select(ReportRefresh.refreshed_at).where(ReportRefresh.name == SUMMARY))


def invalidate(session: Session) -> None:
    """After rows were written behind the summary's back (bulk loads): the next read rebuilds it whole."""
    session.execute(delete(ReportRefresh).where(ReportRefresh.name == SUMMARY))


def _recount(session: Session, where: ColumnElement[bool], now: datetime) -> None:
    keys = [local_day(Dossier.received_at).label("day"), Dossier.competent_unit.label("competent_unit"),
            Dossier.procedure_code.label("procedure_code")]
    session.execute(insert(QualityDaily).from_select(["day", "competent_unit", "procedure_code", *COUNT_FIELDS],
                                                     grouped(keys, where, now)))


def summed(session: Session, first: date, last: date, group_by: str, unit: str | None = None) -> list[Counts]:
    """Counts per group for dossiers received from `first` to `last` (local days), from the summary."""
    q, p = QualityDaily, Procedure
    key: ColumnElement[str] = {"city": literal(CITY), "unit": q.competent_unit, "procedure": q.procedure_code,
                               "sector": p.sector, "level": p.level}[group_by].label("grp")
    where = q.day.between(first, last)
    if unit is not None:
        where = and_(where, q.competent_unit == unit)
    query = (select(key, *[func.sum(getattr(q, name)) for name in COUNT_FIELDS])
             .select_from(q).join(p, p.code == q.procedure_code).where(where).group_by(key).order_by(key))
    return [counts_of(str(row[0]), row[1:]) for row in session.execute(query)]
