"""Legacy dossiers, one row per dossier (CSV or JSON Lines), imported in batches of one transaction each.

A row becomes a reception with its original received time (so its code and appointment follow the rules as
if received then); an in-flight dossier starts at the step named by the row on the current diagram; a
finished one is history carrying its result. The legacy id is the row's idempotency key (the
`processed_messages` table, written in the batch's transaction): importing a file again, or resuming after an
interruption, skips what is already in, and a row changed since is refused.

The national portal (outbox) hears of in-flight dossiers as of any reception, since their next steps happen
here; finished ones were synchronised by the former system and are not sent again.
"""

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.calendar.workdays import WorkingCalendar
from app.dossiers.codes import codes_by_day, day_of
from app.dossiers.reception import Draft, ReceptionService
from app.dossiers.status import DVCQG_CODE, Status, stage_of
from app.errors import MotcuaError
from app.integrations.inbound import InboundOnce, request_hash
from app.legacy.in_flight import InFlight, write_in_flight
from app.legacy.rows import REQUIRED, Mapping, Refused, legacy_reference, moment, reception_request
from app.processes.bulk_start import BulkStarter
from app.processes.instances import InstanceService
from persistence import repositories as repo
from persistence.dossier_models import Dossier, Procedure, Unit
from persistence.integration_models import ProcessedMessage
from persistence.models import Event, ProcessDefinition

ACTOR = "import"
BATCH_SIZE = 500
SUBMIT = {"appraisal_note": "Nhập từ hệ thống cũ"}  # what the steps done in the former system are completed with
FINISHED_REASON = "Hồ sơ đã giải quyết trên hệ thống cũ; nhập làm lịch sử"


@dataclass
class Outcome:
    line: int
    legacy_id: str | None
    result: str  # imported | skipped | refused
    code: str | None = None
    reason: str | None = None


class _DryRun(Exception):
    pass


class _InFlightRefused(Exception):
    """Rows the engine refused after the batch was numbered: the batch is rolled back and done without them."""

    def __init__(self, refused: list[tuple["_Candidate", "Outcome"]]) -> None:
        super().__init__(f"{len(refused)} rows refused")
        self.refused = refused


@dataclass
class _Run:
    """One import: its mapping, whether it is a dry run, and its clock. Every dossier it writes is written "now"
    by the one clock, so those the diagram can't tell apart share an engine run across batches (BulkStarter)."""

    mapping: Mapping
    dry_run: bool
    now: datetime
    _starter: BulkStarter | None = None

    def starter(self, instances: InstanceService, calendar: WorkingCalendar) -> BulkStarter:
        """The run's starter, or a new one when an admin changed the working calendar meanwhile."""
        if self._starter is None or self._starter.calendar.overrides != calendar.overrides:
            self._starter = BulkStarter(instances, calendar, self.now)
        return self._starter


@dataclass
class _Candidate:
    """A row that passed the checks that need no database, with its idempotency key."""

    index: int
    line: int
    legacy_id: str
    row: dict[str, str]
    key: str
    digest: str


@dataclass
class _Checked:
    """A row that passed every check, ready to be written."""

    candidate: _Candidate
    draft: Draft
    appointment_at: datetime | None
    finished_at: datetime | None = None  # None: in flight, waiting at `step`
    step: str | None = None


class LegacyImporter:
    """Imports in batches, one transaction each: every row is checked first and a refused row is left out
    of its batch; finished dossiers are written with bulk inserts (no workflow to run: their instance is
    recorded terminated and archived, its history in events); in-flight ones too, with what a reception moved
    on to their step would write (app/legacy/in_flight.py; a row the engine refuses sends the batch round again
    without it). A batch failing on something unexpected is retried row by row, so one bad row never costs the
    others."""

    def __init__(self, reception: ReceptionService, inbound: InboundOnce) -> None:
        self.reception = reception
        self.instances = reception.instances
        self.inbound = inbound

    def import_row(self, line: int, raw: dict[str, Any], mapping: Mapping, *, dry_run: bool = False) -> Outcome:
        return self.import_rows([(line, raw)], mapping, dry_run=dry_run)[0]

    def import_rows(self, rows: Iterable[tuple[int, dict[str, Any]]], mapping: Mapping, *, dry_run: bool = False,
                    batch_size: int = BATCH_SIZE, progress: Callable[[int], None] | None = None,
                    now: datetime | None = None) -> list[Outcome]:
        """`now`: the import's clock (several processes importing shares of one file pass the same)."""
        run = _Run(mapping, dry_run, now or datetime.now(UTC))
        outcomes: list[Outcome] = []
        batch: list[tuple[int, dict[str, Any]]] = []
        for item in rows:
            batch.append(item)
            if len(batch) >= batch_size:
                outcomes += self._batch(batch, run)
                if progress:
                    progress(len(batch))
                batch = []
        if batch:
            outcomes += self._batch(batch, run)
            if progress:
                progress(len(batch))
        return outcomes

    def _batch(self, rows: list[tuple[int, dict[str, Any]]], run: "_Run") -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(rows)
        candidates: list[_Candidate] = []
        later: list[int] = []  # a legacy id repeated in the batch waits for the first copy to be written
        keys: set[str] = set()
        for index, (line, raw) in enumerate(rows):
            candidate = _candidate(index, line, raw, run.mapping)
            if isinstance(candidate, Outcome):
                outcomes[index] = candidate
            elif candidate.key in keys:
                later.append(index)
            else:
                keys.add(candidate.key)
                candidates.append(candidate)
        with self.instances.db.read() as session:
            earlier = {m.key: (m.request_hash, m.response) for m in session.scalars(
                select(ProcessedMessage).where(ProcessedMessage.key.in_(keys)))} if keys else {}
        fresh = []
        for candidate in candidates:
            if candidate.key in earlier:
                outcomes[candidate.index] = _repeat(candidate, *earlier[candidate.key])
            else:
                fresh.append(candidate)
        if fresh:
            try:
                for candidate, outcome in self._write(fresh, run):
                    outcomes[candidate.index] = outcome
            except (SQLAlchemyError, MotcuaError) as exc:
                if len(fresh) == 1:
                    outcomes[fresh[0].index] = self._failed(fresh[0], exc)
                else:  # something no check foresaw: find the row, one transaction each
                    for candidate in fresh:
                        outcomes[candidate.index] = self._batch([rows[candidate.index]], run)[0]
        if later:
            for index, outcome in zip(later, self._batch([rows[i] for i in later], run), strict=True):
                outcomes[index] = outcome
        return [o for o in outcomes if o is not None]

    def _write(self, candidates: list[_Candidate], run: "_Run") -> list[tuple[_Candidate, Outcome]]:
        refused: list[tuple[_Candidate, Outcome]] = []
        while True:
            try:
                return refused + self._write_once(candidates, run)
            except _InFlightRefused as exc:  # rolled back (codes given back): again without those rows
                refused += exc.refused
                gone = {candidate.index for candidate, _ in exc.refused}
                candidates = [c for c in candidates if c.index not in gone]

    def _write_once(self, candidates: list[_Candidate], run: "_Run") -> list[tuple[_Candidate, Outcome]]:
        done: list[tuple[_Candidate, Outcome]] = []
        try:
            with self.instances.command() as session:
                calendar = self.reception.calendars.working_calendar(session)
                starter = run.starter(self.instances, calendar)
                # Every row looks up its procedure and units by key: one read each puts them all in the session
                # (held here, since the session keeps unreferenced rows only weakly).
                _held = [*session.scalars(select(Procedure)), *session.scalars(select(Unit))]
                checked_rows: list[_Checked] = []
                for candidate in candidates:
                    checked = self._check(session, candidate, run.mapping, calendar, run.now)
                    if isinstance(checked, Outcome):
                        done.append((candidate, checked))
                    else:
                        checked_rows.append(checked)
                _number(session, [c.draft.dossier for c in checked_rows])
                answers = self._write_finished(session, [c for c in checked_rows if c.finished_at])
                in_flight = [c for c in checked_rows if not c.finished_at]
                written = write_in_flight(self.reception, session, [
                    InFlight(c.draft, c.step or "", c.appointment_at, legacy_reference(c.candidate.row))
                    for c in in_flight], starter, ACTOR, SUBMIT)
                refused = [(c.candidate, _refused(c.candidate, a)) for c, a in zip(in_flight, written, strict=True)
                           if isinstance(a, MotcuaError)]
                if refused:
                    raise _InFlightRefused(refused)
                answers += [(c, a) for c, a in zip(in_flight, written, strict=True) if not isinstance(a, MotcuaError)]
                if answers:
                    session.execute(insert(ProcessedMessage.__table__), [
                        {"key": c.candidate.key, "request_hash": c.candidate.digest, "status_code": 200,
                         "response": answer, "created_at": c.draft.now} for c, answer in answers])
                done += [(c.candidate, Outcome(c.candidate.line, c.candidate.legacy_id, "imported",
                                               None if run.dry_run else answer["code"])) for c, answer in answers]
                if run.dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        return done

    def _check(self, session: Session, candidate: _Candidate, mapping: Mapping, calendar: WorkingCalendar,
               now: datetime) -> "_Checked | Outcome":
        row = candidate.row
        try:
            state = row["state"]
            if state not in mapping.finished_values | mapping.in_progress_values:
                raise Refused("unknown_state", f"Trạng thái '{state}' không có trong mapping")
            procedure = session.get(Procedure, row["procedure_code"])
            if procedure is None:
                raise Refused("unknown_procedure", f"Không có thủ tục '{row['procedure_code']}' trong danh mục")
            received_at = moment(row, "received_at")
            request = reception_request(row, procedure, received_at)
            draft = self.reception.draft(session, request, ACTOR, calendar=calendar, now=now)
            appointment_at = moment(row, "appointment_at") if "appointment_at" in row else None
            checked = _Checked(candidate, draft, appointment_at)
            if state in mapping.finished_values:
                if "finished_at" not in row or "result_number" not in row:
                    raise Refused("missing_field", "Hồ sơ đã giải quyết cần finished_at và result_number")
                checked.finished_at = moment(row, "finished_at")
                if checked.finished_at < draft.dossier.received_at:
                    raise Refused("invalid_row", "finished_at trước received_at")
            elif "step" not in row:
                raise Refused("missing_field", "Hồ sơ đang xử lý cần trường step (bước hiện tại)")
            else:
                checked.step = row["step"]
            return checked
        except Refused as exc:
            return Outcome(candidate.line, candidate.legacy_id, "refused", exc.code, exc.reason)
        except MotcuaError as exc:
            return _refused(candidate, exc)

    def _write_finished(self, session: Session, rows: list[_Checked]) -> list[tuple[_Checked, dict[str, Any]]]:
        """History needs no running workflow: the dossier, its documents, an instance recorded as terminated
        with its state archived (the diagram is drawn from the events), and those events, in bulk."""
        if not rows:
            return []
        definitions: dict[str, ProcessDefinition] = {}
        instances, events, dossiers, documents, answers = [], [], [], [], []
        for checked in rows:
            draft, row = checked.draft, checked.candidate.row
            dossier, now = draft.dossier, draft.now
            key = draft.procedure.diagram_key
            if key not in definitions:
                definitions[key] = self.instances.definition(session, key)
            definition = definitions[key]
            instance_id = str(uuid.uuid4())
            instances.append({"id": instance_id, "definition_id": definition.id, "key": definition.key,
                              "definition_version": definition.version, "business_key": dossier.code,
                              "status": "terminated", "state": b"", "variables": draft.variables(), "version": 1,
                              "created_at": now, "updated_at": now, "ended_at": now, "archived_at": now})
            events += [Event(process_instance_id=instance_id, type=kind, actor=ACTOR, at=now, data=data)
                       for kind, data in (("instance.started", {"definitionId": definition.id,
                                                                 "businessKey": dossier.code}),
                                          ("dossier.received", draft.received_event()),
                                          ("instance.terminated", {"reason": FINISHED_REASON}))]
            finished_at = checked.finished_at
            assert finished_at is not None
            dossier.process_instance_id = instance_id
            if checked.appointment_at:
                dossier.appointment_at = checked.appointment_at
            dossier.status, dossier.status_code = Status.RETURNED.value, DVCQG_CODE[Status.RETURNED]
            dossier.stage, dossier.current_step = stage_of(Status.RETURNED, None, False), None
            dossier.finished_at = dossier.returned_at = finished_at
            dossier.result = {**legacy_reference(row), "number": row["result_number"], "note": row.get("result_note"),
                              "returnedAt": finished_at.isoformat(), "returnedBy": ACTOR}
            dossiers.append(dossier)
            for document in draft.documents:
                document.dossier_code = dossier.code
                documents.append(document)
            answers.append((checked, {"code": dossier.code, "status": dossier.status, "step": None}))
        repo.insert_instances(session, instances)
        repo.insert_new(session, dossiers, documents)
        repo.append_events(session, events)
        return answers

    def _failed(self, candidate: _Candidate, exc: SQLAlchemyError | MotcuaError) -> Outcome:
        """One row's transaction failed on something no check foresaw: a concurrent import of the same
        legacy id (its answer counts), else the row is refused with what the database said."""
        with self.instances.db.read() as session:
            earlier = session.get(ProcessedMessage, candidate.key)
            if earlier is not None:
                return _repeat(candidate, earlier.request_hash, earlier.response)
        if isinstance(exc, MotcuaError):
            return _refused(candidate, exc)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
        return Outcome(candidate.line, candidate.legacy_id, "refused", "import_failed", reason)


def _number(session: Session, dossiers: list[Dossier]) -> None:
    """Codes for the batch, in row order within each agency and day, all counters moved by one statement."""
    by_day: dict[tuple[str, str], list[Dossier]] = defaultdict(list)
    for dossier in dossiers:
        by_day[(dossier.competent_unit, day_of(dossier.received_at))].append(dossier)
    codes = codes_by_day(session, {key: len(group) for key, group in by_day.items()})
    for key, group in by_day.items():
        for dossier, code in zip(group, codes[key], strict=True):
            dossier.code = code


def _candidate(index: int, line: int, raw: dict[str, Any], mapping: Mapping) -> "_Candidate | Outcome":
    if "__invalid__" in raw:
        return Outcome(line, None, "refused", "invalid_json", "Dòng không phải một đối tượng JSON")
    row = mapping.row(raw)
    legacy_id = row.get("legacy_id")
    missing = [name for name in REQUIRED if name not in row]
    if missing or legacy_id is None:
        return Outcome(line, legacy_id, "refused", "missing_field", f"Thiếu trường: {', '.join(missing)}")
    return _Candidate(index, line, legacy_id, row, f"legacy:{row.get('source_system', '')}:{legacy_id}",
                      request_hash(row))


def _repeat(candidate: _Candidate, digest: str, response: dict[str, Any]) -> Outcome:
    if digest != candidate.digest:
        return Outcome(candidate.line, candidate.legacy_id, "refused", "idempotency_key_reused",
                       f"Mã hồ sơ cũ '{candidate.legacy_id}' đã được nhập với nội dung khác")
    return Outcome(candidate.line, candidate.legacy_id, "skipped", response.get("code"))


def _refused(candidate: _Candidate, exc: MotcuaError) -> Outcome:
    where = f" ({exc.field or exc.element_id})" if (exc.field or exc.element_id) else ""
    return Outcome(candidate.line, candidate.legacy_id, "refused", exc.code, f"{exc.detail}{where}")
