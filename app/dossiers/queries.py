"""Worklists, dossier pages and the public lookup; they read the dossier table, never workflow state."""

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from itertools import product

from sqlalchemy import ColumnElement, Select, and_, bindparam, case, exists, func, literal, or_, select, text, union_all

from app.calendar.service import CalendarService
from app.dossiers.status import QUEUES, STAGES, stages_of
from app.dossiers.views import DossierView, PublicDossierView
from app.errors import InvalidInput, NotFound
from persistence.db import Database
from persistence.dossier_models import (
    UNUSUAL_STATUS,
    USUAL_STATUSES,
    Dossier,
    DossierDocument,
    Procedure,
    WorklistCount,
)
from persistence.models import HumanTask, TaskCandidateGroup

OPEN_STAGES = ("new", "in_progress", "ministry")
# sort name: (column, descending); the dossier code breaks ties, always ascending
SORTS = {"appointment": ("appointment_at", False), "-appointment": ("appointment_at", True),
         "received": ("received_at", False), "-received": ("received_at", True)}
QUEUE_STAGES = {"new": ("new",), "supplement": ("supplement",), "in_progress": ("in_progress", "ministry"),
                "to_return": ("to_return",), "withdrawn": ("withdrawn",), "overdue": OPEN_STAGES,
                "due_soon": OPEN_STAGES, "not_due": OPEN_STAGES}  # not_due: only counted, see queue_counts
# The queues whose size worklist_counts keeps: (scope, stage) pairs per queue, the unit branches of _branches (to
# return: where received; withdrawn: decided here, or received here for another unit). Without a unit every dossier
# counts once, in its competent unit's scope.
COUNTED = {"new": (("competent", "new"),), "supplement": (("competent", "supplement"),),
           "in_progress": (("competent", "in_progress"), ("competent", "ministry")),
           "to_return": (("receiving", "to_return"),),
           "withdrawn": (("competent", "withdrawn"), ("received_elsewhere", "withdrawn"))}
Conditions = list[ColumnElement[bool]]
UNIT, NOW, HORIZON = bindparam("unit"), bindparam("now"), bindparam("horizon")
LIMIT, OFFSET, FIRST = bindparam("limit"), bindparam("offset"), bindparam("first")


def sum_of(terms: Iterable[ColumnElement[int]]) -> ColumnElement[int]:
    first, *rest = terms
    for term in rest:
        first = first + term
    return first


class DossierQueries:
    def __init__(self, db: Database, calendars: CalendarService) -> None:
        self.db = db
        self.calendars = calendars

    def worklist(self, *, unit: str | None, queue: str | None, status: str | None, procedure: str | None,
                 role: str | None = None, sort: str = "appointment", limit: int = 50,
                 offset: int = 0) -> list[DossierView]:
        if queue is not None and queue not in QUEUES:
            raise InvalidInput(f"Hàng đợi '{queue}' không có; dùng: {', '.join(QUEUES)}", field="queue")
        if sort not in SORTS:
            raise InvalidInput(f"Sắp xếp theo: {', '.join(SORTS)}", field="sort")
        stages = stages_of(status) if status else STAGES
        usual_in = tuple(stage for stage, statuses in USUAL_STATUSES.items() if status in statuses) if status else None
        query = _page(bool(unit), queue, sort, stages, usual_in, bool(procedure), bool(role),
                      self.db.dialect == "postgresql")
        if query is None:
            return []  # the status never has this queue's stages
        params = {"unit": unit, "now": datetime.now(UTC), "horizon": self._due_soon_horizon(queue), "status": status,
                  "procedure": procedure, "role": role, "limit": min(limit, 500), "offset": offset,
                  "first": min(limit, 500) + offset}
        with self.db.read() as session:
            return [DossierView.of(found) for found in session.scalars(query, params)]

    def queue_counts(self, unit: str | None) -> dict[str, int]:
        params = {"unit": unit, "now": datetime.now(UTC), "horizon": self._due_soon_horizon("due_soon")}
        with self.db.read() as session:
            row = session.execute(_counts(bool(unit)), params).one()
        sizes = {name: int(size or 0) for name, size in row._mapping.items()}
        # Open dossiers (new and in progress) not yet due are few: counting the many overdue ones directly would read
        # them a second time.
        sizes["overdue"] = sizes["new"] + sizes["in_progress"] - sizes.pop("not_due")
        return {queue: sizes[queue] for queue in QUEUES}

    def get(self, code: str) -> DossierView:
        with self.db.read() as session:
            row = session.get(Dossier, code)
            if row is None:
                raise NotFound(f"Không có hồ sơ '{code}'", field="code")
            documents = list(session.scalars(select(DossierDocument).where(DossierDocument.dossier_code == code)
                                             .order_by(DossierDocument.id)))
            procedure = session.get(Procedure, row.procedure_code)
            return DossierView.of(row, documents, procedure.name if procedure else None)

    def public(self, code: str, id_number: str) -> PublicDossierView:
        with self.db.read() as session:
            row = session.get(Dossier, code)
            if row is None or row.applicant_id_number != id_number:
                # The same answer for a wrong code and a wrong ID number: nothing to probe with.
                raise NotFound("Không tìm thấy hồ sơ với mã và số giấy tờ đã nhập", field="code")
            view = DossierView.of(row, procedure_name=session.get(Procedure, row.procedure_code).name)
            return PublicDossierView.model_validate(view.model_dump())

    def _due_soon_horizon(self, queue: str | None) -> datetime | None:
        """'Due soon' means due by the end of the next working day."""
        if queue != "due_soon":
            return None
        with self.db.read() as session:
            return self.calendars.working_calendar(session).deadline(datetime.now(UTC), 1)


def _branches(by_unit: bool, queue: str | None, stages_allowed: tuple[str, ...] = STAGES,
              by_procedure: bool = False, by_stage: bool = True,
              status_usual_in: tuple[str, ...] | None = None) -> list[tuple[str | None, Conditions]]:
    """The queue as disjoint sets of conditions whose union is the queue, unit scope × stage, each with its stage
    (None: several stages in one branch, without a unit and not by_stage). Stages a status filter never matches
    are left out (a branch with no match would read its whole index range)."""
    times: Conditions = []
    if queue == "overdue":
        times = [Dossier.appointment_at < NOW]
    elif queue == "due_soon":
        times = [Dossier.appointment_at >= NOW, Dossier.appointment_at <= HORIZON]
    elif queue == "not_due":
        times = [Dossier.appointment_at >= NOW]
    stages = [stage for stage in (QUEUE_STAGES[queue] if queue else STAGES) if stage in stages_allowed]
    if not by_unit and not by_stage:
        # Every unit by received time: one walk of the received-time index, which a page of any queue leaves soon
        # (a branch per stage would walk it once per stage, each time for rows of that stage only, and to its end
        # for a stage with none). The stages where a status filter is unusual stay apart, for the partial index.
        walked = [stage for stage in stages if status_usual_in is None or stage in status_usual_in]
        apart = [stage for stage in stages if stage not in walked]
        together = [Dossier.stage.in_(walked), *times] if set(walked) != set(STAGES) else times
        return ([(None, together)] if walked else []) + [
            (stage, [Dossier.stage == literal(stage, literal_execute=True), *times]) for stage in apart]
    if not by_unit:
        # Every unit: a range of the (stage, appointment) index per stage. PostgreSQL 15 cannot skip through the
        # units of a unit-leading index, and `stage IN (…)` ordered by appointment read and sorted the whole queue.
        units: list[Conditions] = [[]]
    elif queue == "to_return" and by_procedure:
        # Received here (results go back where received), in two halves the procedure filter can read as ranges:
        # decided here too (the competent unit's procedure index), or decided elsewhere (the partial index of
        # dossiers received in one unit for another). A walk of the unit's whole to-return range instead reads
        # every row for a procedure it seldom or never has.
        units = [[Dossier.competent_unit == UNIT, Dossier.receiving_unit == UNIT],
                 [Dossier.receiving_unit == UNIT, Dossier.receiving_unit != Dossier.competent_unit]]
    elif queue == "to_return":  # results go back where the dossier was received
        units = [[Dossier.receiving_unit == UNIT]]
    elif queue in (None, "withdrawn"):
        # received here or decided here; the second branch reads the small partial index of dossiers received in
        # one unit for another
        units = [[Dossier.competent_unit == UNIT],
                 [Dossier.receiving_unit == UNIT, Dossier.receiving_unit != Dossier.competent_unit]]
    else:
        units = [[Dossier.competent_unit == UNIT]]
    # The stage written into the statement, not bound: a prepared statement's generic plan (psycopg prepares a
    # statement from its 6th run, PostgreSQL plans it generically after 5 more) then still knows each branch's stage.
    return [(stage, [*scope, Dossier.stage == literal(stage, literal_execute=True), *times])
            for scope, stage in product(units, stages)]


@lru_cache(maxsize=512)
def _page(by_unit: bool, queue: str | None, sort: str, stages_allowed: tuple[str, ...],
          status_usual_in: tuple[str, ...] | None, by_procedure: bool, by_role: bool, ties: bool) -> Select | None:
    """One worklist page's statement per shape of request (values are bound at execution): built once, so that
    SQLAlchemy's compiled cache serves the many-branch statements too. status_usual_in: with a status filter, the
    stages whose usual status it is (persistence USUAL_STATUSES); ties: the database has FETCH … WITH TIES
    (PostgreSQL; SQLite has not)."""
    column, descending = SORTS[sort]
    key = getattr(Dossier, column)
    stage_branches = _branches(by_unit, queue, stages_allowed, by_procedure, column == "appointment_at",
                               status_usual_in)
    if not stage_branches:
        return None
    common: Conditions = []
    if by_procedure:
        common.append(Dossier.procedure_code == bindparam("procedure"))
    if by_role:
        # Dossiers whose open step is for this role (the step's candidate group), via the indexed task tables.
        common.append(exists().where(
            HumanTask.process_instance_id == Dossier.process_instance_id, HumanTask.status == "open",
            TaskCandidateGroup.task_id == HumanTask.id, TaskCandidateGroup.group_name == bindparam("role")))
    branches = []
    for stage, conditions in stage_branches:
        if status_usual_in is not None:
            conditions = [*conditions, Dossier.status == bindparam("status")]
            if stage is not None and stage not in status_usual_in:
                # Few rows, all in the partial index whose predicate this is (stated as the index states it, so
                # that PostgreSQL sees the index applies): read them, not the (unit, stage) range around them.
                conditions.append(text(UNUSUAL_STATUS))
        branches.append(conditions)

    def ordered(query: Select, by: ColumnElement[datetime], code: ColumnElement[str]) -> Select:
        return query.order_by(by.desc() if descending else by.asc(), code)

    filtered = status_usual_in is not None or by_procedure or by_role
    if len(branches) == 1 and not (ties and filtered):
        # One range, read in place. A filtered one goes through first_rows below: a generic plan expects few
        # matching rows and would sort all of them rather than read the range in order.
        return ordered(select(Dossier).where(*branches[0], *common), key, Dossier.code).limit(LIMIT).offset(OFFSET)

    def first_rows(conditions: Conditions) -> Select:
        query = select(Dossier.code, key.label("key")).where(*conditions, *common)
        if ties:
            # The sort column alone, with the rows tied with the last: exactly the order of the index range, so
            # that no plan sorts the range, not even a prepared statement's generic plan, which cannot tell a
            # unit's range of ten rows from one of ten thousand. The page below breaks the ties by code.
            return query.order_by(key.desc() if descending else key.asc()).fetch(FIRST, with_ties=True)
        return ordered(query, key, Dossier.code).limit(FIRST)

    # One branch per (unit column, stage): each an ordered range of a (unit, stage, sort column) index, read only
    # as far as the page; the page is then picked from those few (code, sort key) pairs. An OR or an IN list
    # instead makes the database read and sort every matching row of a busy unit.
    pages = union_all(*[select(first_rows(conditions).subquery()) for conditions in branches]).subquery("pages")
    codes = ordered(select(pages.c.code), pages.c.key, pages.c.code).limit(LIMIT).offset(OFFSET)
    return ordered(select(Dossier).where(Dossier.code.in_(codes)), key, Dossier.code)


@lru_cache(maxsize=2)
def _counts(by_unit: bool) -> Select:
    """Every queue's size in one statement: the stage-based queues summed from the unit's worklist_counts rows, and
    the two time-based counts (due soon, not yet due) as index-only ranges of dossiers, since they change with the
    clock. One statement, so all of them are of one snapshot."""
    def kept(queue: str) -> ColumnElement[int]:
        pairs = COUNTED[queue] if by_unit else dict.fromkeys(("competent", stage) for _, stage in COUNTED[queue])
        matches = or_(*[and_(WorklistCount.scope == scope, WorklistCount.stage == stage) for scope, stage in pairs])
        return func.sum(case((matches, WorklistCount.delta), else_=0)).label(queue)

    def counted(queue: str) -> ColumnElement[int]:
        return sum_of(select(func.count()).select_from(Dossier).where(*conditions).scalar_subquery()
                      for _, conditions in _branches(by_unit, queue)).label(queue)

    of_unit = WorklistCount.unit_code == UNIT if by_unit else WorklistCount.scope == "competent"
    return select(*[kept(queue) for queue in COUNTED], counted("due_soon"), counted("not_due")).where(of_unit)
