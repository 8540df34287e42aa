"""Worklists, dossier pages and the public lookup; they read the dossier table, never workflow state."""

from datetime import UTC, datetime

from sqlalchemy import Select, and_, exists, func, or_, select

from app.calendar.service import CalendarService
from app.dossiers.status import QUEUES
from app.dossiers.views import DossierView, PublicDossierView
from app.errors import InvalidInput, NotFound
from persistence.db import Database
from persistence.dossier_models import Dossier, DossierDocument, Procedure
from persistence.models import HumanTask, TaskCandidateGroup

OPEN_STAGES = ("new", "in_progress", "ministry")
SORTS = {"appointment": Dossier.appointment_at.asc(), "-appointment": Dossier.appointment_at.desc(),
         "received": Dossier.received_at.asc(), "-received": Dossier.received_at.desc()}


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
        query = self._filtered(select(Dossier), unit, queue, self._due_soon_horizon(queue))
        if status:
            query = query.where(Dossier.status == status)
        if procedure:
            query = query.where(Dossier.procedure_code == procedure)
        if role:
            # Dossiers whose open step is for this role (the step's candidate group), via the indexed task tables.
            query = query.where(exists().where(
                HumanTask.process_instance_id == Dossier.process_instance_id, HumanTask.status == "open",
                TaskCandidateGroup.task_id == HumanTask.id, TaskCandidateGroup.group_name == role))
        query = query.order_by(SORTS[sort], Dossier.code).limit(min(limit, 500)).offset(offset)
        with self.db.read() as session:
            return [DossierView.of(row) for row in session.scalars(query)]

    def queue_counts(self, unit: str | None) -> dict[str, int]:
        with self.db.read() as session:
            horizon = self._due_soon_horizon("due_soon")
            return {queue: session.scalar(self._filtered(select(func.count()).select_from(Dossier), unit, queue,
                                                         horizon)) or 0
                    for queue in QUEUES}

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

    @staticmethod
    def _filtered(query: Select, unit: str | None, queue: str | None, horizon: datetime | None) -> Select:
        now = datetime.now(UTC)
        if unit:
            if queue == "to_return":
                query = query.where(Dossier.receiving_unit == unit)
            elif queue in (None, "withdrawn"):
                query = query.where(or_(Dossier.receiving_unit == unit, Dossier.competent_unit == unit))
            else:
                query = query.where(Dossier.competent_unit == unit)
        if queue == "new":
            query = query.where(Dossier.stage == "new")
        elif queue == "supplement":
            query = query.where(Dossier.stage == "supplement")
        elif queue == "in_progress":
            query = query.where(Dossier.stage.in_(("in_progress", "ministry")))
        elif queue == "to_return":
            query = query.where(Dossier.stage == "to_return")
        elif queue == "withdrawn":
            query = query.where(Dossier.stage == "withdrawn")
        elif queue == "overdue":
            query = query.where(Dossier.stage.in_(OPEN_STAGES), Dossier.appointment_at < now)
        elif queue == "due_soon":
            query = query.where(Dossier.stage.in_(OPEN_STAGES),
                                and_(Dossier.appointment_at >= now, Dossier.appointment_at <= horizon))
        return query
