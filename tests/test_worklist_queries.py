"""Worklist pages and queue counts equal a plain reference query for every queue, unit scope, filter, sort and page
(both databases): the per-(unit, stage) branches of app/dossiers/queries.py only change the speed."""

from datetime import UTC, datetime, timedelta
from importlib import import_module
from itertools import product

import pytest
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.dossiers.queries import OPEN_STAGES, SORTS
from app.dossiers.status import QUEUES, STAGES, Status, stage_of, stages_of
from app.reports.generator import generate
from persistence.dossier_models import KNOWN_STAGES, UNUSUAL_STATUS, USUAL_STATUSES, Dossier


def reference(unit, queue, horizon, now):
    """The worklist's meaning, written the obvious way (OR across units, IN lists)."""
    conditions = []
    if unit:
        if queue == "to_return":
            conditions.append(Dossier.receiving_unit == unit)
        elif queue in (None, "withdrawn"):
            conditions.append(or_(Dossier.receiving_unit == unit, Dossier.competent_unit == unit))
        else:
            conditions.append(Dossier.competent_unit == unit)
    stages = {"new": ("new",), "supplement": ("supplement",), "in_progress": ("in_progress", "ministry"),
              "to_return": ("to_return",), "withdrawn": ("withdrawn",), "overdue": OPEN_STAGES,
              "due_soon": OPEN_STAGES}
    if queue:
        conditions.append(Dossier.stage.in_(stages[queue]))
    if queue == "overdue":
        conditions.append(Dossier.appointment_at < now)
    if queue == "due_soon":
        conditions.append(and_(Dossier.appointment_at >= now, Dossier.appointment_at <= horizon))
    return conditions


def reference_counts(services, unit) -> dict[str, int]:
    """Each queue's size by the reference query: what DossierQueries.queue_counts must answer."""
    horizon = services.dossiers._due_soon_horizon("due_soon")
    with services.db.read() as session:
        return {queue: session.scalar(select(func.count()).select_from(Dossier)
                                      .where(*reference(unit, queue, horizon, datetime.now(UTC))))
                for queue in QUEUES}


def seed(services) -> dict[str, str]:
    generate(services.db, 400, year=2025, seed=11, batch=200)
    now = datetime.now(UTC)
    with services.db.transaction() as session:
        codes = list(session.scalars(select(Dossier.code).order_by(Dossier.code)))
        busiest = session.execute(select(Dossier.competent_unit).group_by(Dossier.competent_unit)
                                  .order_by(func.count().desc(), Dossier.competent_unit)).scalars().all()
        big, other = busiest[0], busiest[1]
        # received at one unit for another (both directions), waiting for the Ministry
        session.execute(update(Dossier).where(Dossier.code.in_(codes[::5])).values(receiving_unit=other))
        session.execute(update(Dossier).where(Dossier.code.in_(codes[1::7])).values(receiving_unit=big))
        session.execute(update(Dossier).where(Dossier.code.in_(codes[2::9]), Dossier.stage == "in_progress")
                        .values(stage="ministry"))
        # ties on the sort keys (the code decides), and dossiers due within the next working day
        session.execute(update(Dossier).where(Dossier.code.in_(codes[4::6])).values(
            appointment_at=now - timedelta(days=3), received_at=now - timedelta(days=9)))
        session.execute(update(Dossier).where(Dossier.code.in_(codes[5::8])).values(
            appointment_at=now + timedelta(hours=5)))
        # received in the big unit for another, waiting to be returned there
        session.execute(update(Dossier).where(Dossier.code.in_(codes[6::10]), Dossier.stage == "to_return",
                                              Dossier.competent_unit != big).values(receiving_unit=big))
        # statuses off their stage's ordinary path (persistence USUAL_STATUSES), read from the partial index
        for stage, status in (("new", "in_progress"), ("to_return", "accepted"), ("in_progress", "accepted"),
                              ("withdrawn", "closed")):
            session.execute(update(Dossier).where(Dossier.code.in_(codes[3::5]), Dossier.stage == stage)
                            .values(status=status))
    return {"big": big, "other": other}


def test_pages_and_counts_equal_the_reference_query(services):
    units = seed(services)
    queries = services.dossiers
    horizon = queries._due_soon_horizon("due_soon")
    with services.db.read() as session:
        procedure = session.scalar(select(Dossier.procedure_code).where(Dossier.competent_unit == units["big"])
                                   .group_by(Dossier.procedure_code).order_by(func.count().desc()).limit(1))
        # received in the big unit and decided in another, waiting to be returned: the to-return queue's second half
        elsewhere = session.scalar(select(Dossier.procedure_code).where(
            Dossier.receiving_unit == units["big"], Dossier.competent_unit != units["big"],
            Dossier.stage == "to_return").limit(1))
        # never decided in the big unit: no branch of its ranges has a row
        absent = session.scalar(select(Dossier.procedure_code).where(Dossier.procedure_code.not_in(
            select(Dossier.procedure_code).where(Dossier.competent_unit == units["big"]))).limit(1))
    assert elsewhere is not None and absent is not None
    checked = 0
    for unit, queue, sort in product((units["big"], units["other"], None), (None, *QUEUES), SORTS):
        filters = [{}]
        if sort in ("appointment", "-received"):
            filters += [{"status": status} for status in (Status.IN_PROGRESS.value, Status.ACCEPTED.value,
                                                          Status.CLOSED.value, Status.RETURNED.value,
                                                          "no-such-status")]
            filters += [{"procedure": procedure}, {"procedure": elsewhere}, {"procedure": absent},
                        {"procedure": procedure, "status": Status.ACCEPTED.value}]
        for extra, (limit, offset) in product(filters, ((7, 0), (7, 12), (500, 0))):
            got = [d.code for d in queries.worklist(unit=unit, queue=queue, status=extra.get("status"),
                                                    procedure=extra.get("procedure"), sort=sort, limit=limit,
                                                    offset=offset)]
            column, descending = SORTS[sort]
            key = getattr(Dossier, column)
            conditions = reference(unit, queue, horizon, datetime.now(UTC))
            if "status" in extra:
                conditions.append(Dossier.status == extra["status"])
            if "procedure" in extra:
                conditions.append(Dossier.procedure_code == extra["procedure"])
            with services.db.read() as session:
                expected = list(session.scalars(select(Dossier.code).where(*conditions)
                                                .order_by(key.desc() if descending else key.asc(), Dossier.code)
                                                .limit(limit).offset(offset)))
            assert got == expected, (unit, queue, sort, extra, limit, offset)
            checked += bool(expected)
    assert checked > 150  # most combinations have rows: the comparison is not between empty lists
    # the branches of the partial index of unusual statuses and of the to-return queue's halves had rows to find
    for queue, extra in (("new", {"status": Status.IN_PROGRESS.value}), ("to_return", {"status": "accepted"}),
                         ("to_return", {"procedure": elsewhere})):
        assert queries.worklist(unit=units["big"], queue=queue, status=extra.get("status"),
                                procedure=extra.get("procedure"), sort="appointment"), (queue, extra)
    for unit in (units["big"], units["other"], None):
        counts = queries.queue_counts(unit)
        assert counts == reference_counts(services, unit), unit
        if unit != units["other"]:
            assert all(counts[queue] for queue in ("new", "in_progress", "overdue", "to_return", "withdrawn")), counts


def test_the_database_refuses_a_stage_no_queue_knows(services):
    """The "all" queue is the union of the STAGES branches: a row with another stage would be in no queue."""
    seed(services)
    with services.db.read() as session:
        code = session.scalar(select(Dossier.code).limit(1))
    with pytest.raises(IntegrityError, match="ck_dossiers_stage"), services.db.transaction() as session:
        session.execute(update(Dossier).where(Dossier.code == code).values(stage="returned"))
    with services.db.read() as session:
        assert session.get(Dossier, code).stage in STAGES


def test_the_stage_lists_agree():
    assert KNOWN_STAGES == STAGES  # the stage check of the database (persistence) names the same stages
    # each stage's usual statuses are statuses stage_of gives it; the migration's partial index has their predicate
    assert set(USUAL_STATUSES) == set(STAGES)
    for stage, statuses in USUAL_STATUSES.items():
        assert all(stage in stages_of(status) for status in statuses), stage
    migration = import_module("migrations.versions.0016_worklist_filters")
    assert migration.UNUSUAL_STATUS == UNUSUAL_STATUS
    for status in Status:
        found = {stage_of(status, step, ministry) for step in (None, "assign", "appraise", "return", "sign")
                 for ministry in (False, True)}
        assert set(stages_of(status.value)) == found, status
    assert stages_of("unknown") == STAGES
