"""Counts per group (city, unit, procedure, sector, level) for a reception period, in one GROUP BY query.

A dossier belongs to the period in which it was received; its outcome is judged as of `as_of`.
Only the dossier, document and rating tables are read, never workflow state.
"""

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from persistence.dossier_models import Dossier, DossierDocument, Procedure
from persistence.report_models import DossierRating

GROUPINGS = ("city", "unit", "procedure", "sector", "level")
CITY = "city"


@dataclass(frozen=True)
class Counts:
    """What one group's figures are computed from; every field is a count of dossiers (or a score sum)."""

    group: str
    received: int
    withdrawn: int
    evaluated: int  # received less withdrawn: the denominator of on-time, late and complaint rates
    finished: int
    on_time: int
    late: int
    overdue_with_apology: int
    open_overdue: int
    online: int
    full_online_offered: int  # dossiers of procedures offered fully online
    full_online: int
    fee_bearing: int
    paid: int
    paid_online: int
    e_results: int
    digitised: int
    reused: int
    ratings: int
    score_sum: int
    complaints: int


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def measures(as_of: datetime) -> list[ColumnElement[int]]:
    """The aggregate columns, in the order of Counts' fields after `group`, over dossiers ⨝ procedures ⟕ ratings."""
    d, p, doc = Dossier, Procedure, DossierDocument
    # Per dossier: all parts digitised? at least one part reused (or taken from the national store)?
    has_parts = exists().where(doc.dossier_code == d.code)
    undigitised = exists().where(doc.dossier_code == d.code, doc.digitised.is_(False))
    reused = exists().where(doc.dossier_code == d.code,
                            or_(doc.reused.is_(True), doc.from_national_store.is_(True)))

    withdrawn = d.status.in_(("withdrawn", "closed"))  # stopped by the applicant, or for want of a supplement
    # A refusal is a decision too: it is on time when made before the appointment.
    decided_at = func.coalesce(d.finished_at, case((d.status == "refused", d.stopped_at)))
    waiting_applicant = d.status == "supplement_requested"  # the clock is stopped; it restarts from zero
    open_overdue = and_(decided_at.is_(None), ~withdrawn, ~waiting_applicant, d.appointment_at < as_of)
    late = and_(~withdrawn, or_(
        d.extension_count > 0,  # an apology (Form 04) is only sent for a dossier that misses its appointment
        d.supplement_count >= 2,  # the law allows one supplement; a second one counts the dossier late
        and_(decided_at.is_not(None), decided_at > d.appointment_at),
        open_overdue))
    paid_online = and_(d.fee_paid.is_(True), d.payment_channel == "online")
    finished = d.finished_at.is_not(None)
    online = d.channel == "online"
    offered_full = p.online_level == "full"
    return [
        func.count(),
        _count(withdrawn),
        _count(~withdrawn),
        _count(finished),
        _count(and_(~withdrawn, ~late)),
        _count(late),
        _count(and_(late, d.extension_count > 0)),
        _count(open_overdue),
        _count(online),
        _count(offered_full),
        _count(and_(online, offered_full, or_(d.fee_total == 0, paid_online))),
        _count(d.fee_total > 0),
        _count(d.fee_paid.is_(True)),
        _count(paid_online),
        _count(and_(finished, d.result["electronic"].as_boolean().is_(True))),
        _count(and_(has_parts, ~undigitised)),
        _count(reused),
        _count(DossierRating.score.is_not(None)),
        func.coalesce(func.sum(DossierRating.score), 0),
        _count(and_(~withdrawn, DossierRating.complaint.is_not(None), DossierRating.complaint != "")),
    ]


COUNT_FIELDS = [f.name for f in fields(Counts)][1:]


def grouped(keys: list[ColumnElement[Any]], where: ColumnElement[bool], as_of: datetime) -> Select[Any]:
    """Counts per `keys` of the dossiers matching `where`."""
    d = Dossier
    return (select(*keys, *[m.label(name) for m, name in zip(measures(as_of), COUNT_FIELDS, strict=True)])
            .select_from(d)
            .join(Procedure, Procedure.code == d.procedure_code)
            .outerjoin(DossierRating, DossierRating.dossier_code == d.code)
            .where(where)
            .group_by(*keys))


def group_key(group_by: str) -> ColumnElement[str]:
    d, p = Dossier, Procedure
    return {"city": literal(CITY), "unit": d.competent_unit, "procedure": d.procedure_code,
            "sector": p.sector, "level": p.level}[group_by]


def count_by_group(session: Session, start: datetime, end: datetime, group_by: str, as_of: datetime,
                   unit: str | None = None) -> list[Counts]:
    """Counts of dossiers received in [start, end) (UTC), grouped; late/on time judged at `as_of`. Live."""
    d = Dossier
    in_period = and_(d.received_at >= start, d.received_at < end)
    if unit is not None:
        in_period = and_(in_period, d.competent_unit == unit)
    key = group_key(group_by).label("grp")
    query = grouped([key], in_period, as_of).order_by(key)
    return [counts_of(str(row[0]), row[1:]) for row in session.execute(query)]


def counts_of(group: str, values: Sequence[Any]) -> Counts:
    return Counts(group, *(int(v or 0) for v in values))
