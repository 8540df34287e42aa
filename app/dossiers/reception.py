"""Receiving a complete dossier: check it against the catalogue, number it, start its process instance."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.calendar.rules import processing_deadline
from app.calendar.service import CalendarService
from app.calendar.workdays import LOCAL_TZ, WorkingCalendar
from app.dossiers.changes import DossierChange
from app.dossiers.codes import next_code
from app.dossiers.requests import ReceptionRequest
from app.dossiers.status import DVCQG_CODE, Status
from app.dossiers.tracking import DossierTracker
from app.dossiers.views import DossierView
from app.errors import InvalidInput, Problem
from app.processes.instances import InstanceService
from persistence import repositories as repo
from persistence.dossier_models import Dossier, DossierDocument, Procedure, Unit
from persistence.models import Event

COMMUNE_TYPES = ("commune", "ward", "special-zone")
CLOCK_SKEW = timedelta(minutes=5)


class ReceptionService:
    def __init__(self, instances: InstanceService, calendars: CalendarService, tracker: DossierTracker) -> None:
        self.instances = instances
        self.calendars = calendars
        self.tracker = tracker

    def receive(self, request: ReceptionRequest, actor: str | None = None) -> DossierView:
        with self.instances.command() as session:
            return self.receive_in(session, request, actor)

    def receive_in(self, session: Session, request: ReceptionRequest, actor: str | None = None) -> DossierView:
        return self.receive_draft(session, self.draft(session, request, actor), actor)

    def receive_draft(self, session: Session, draft: "Draft", actor: str | None = None, *,
                      open_at: str | None = None, submit: dict[str, Any] | None = None) -> DossierView:
        """Number the checked dossier (unless the caller numbered it) and start its instance; `open_at`/`submit`:
        the instance starts already moved on to that step (work done in another system; InstanceService.start_in)."""
        dossier, procedure, competent = draft.dossier, draft.procedure, draft.competent
        code = dossier.code = dossier.code or next_code(session, competent.code, dossier.received_at)
        instance = self.instances.start_in(
            session, key=procedure.diagram_key, business_key=code, actor=actor, now=draft.now,
            variables=draft.variables(), open_at=open_at, submit=submit)
        dossier.process_instance_id = instance.id
        session.add(dossier)
        session.flush()
        for document in draft.documents:
            document.dossier_code = code
        session.add_all(draft.documents)
        session.add(Event(process_instance_id=instance.id, type="dossier.received", actor=actor, at=draft.now,
                          data=draft.received_event()))
        self.tracker.changes.announce(session, dossier, draft.received_change(actor))
        self.tracker.sync(session, dossier, self.instances.instance_row(session, instance.id),
                          list(repo.open_tasks_of(session, [instance.id])),
                          list(repo.waits_of(session, [instance.id])), draft.now)
        session.flush()
        return DossierView.of(dossier, draft.documents, procedure.name)

    def draft(self, session: Session, request: ReceptionRequest, actor: str | None = None, *,
              calendar: WorkingCalendar | None = None, now: datetime | None = None) -> "Draft":
        """Every check of a reception and the dossier it would make, writing nothing: no code yet, no instance.
        `calendar`, `now`: the working calendar and clock when the caller drafts many dossiers in one
        transaction."""
        procedure = session.get(Procedure, request.procedure_code)
        if procedure is None:
            raise InvalidInput(f"Không có thủ tục '{request.procedure_code}' trong danh mục",
                               field="procedureCode", code="unknown_procedure")
        receiving = _unit(session, request.receiving_unit, "receivingUnit")
        competent = self._competent_unit(session, procedure, request, receiving)
        documents = self._documents(session, procedure, request)
        now = now or datetime.now(UTC)
        received_at = (request.received_at or now).astimezone(UTC)
        if received_at > now + CLOCK_SKEW:
            raise InvalidInput("Thời điểm tiếp nhận không được ở tương lai", field="receivedAt")
        moh_route = bool(procedure.moh_centralized and procedure.moh_cutover is not None
                         and received_at.astimezone(LOCAL_TZ).date() >= procedure.moh_cutover)
        fee_total = sum(int(fee["amount"]) for fee in procedure.fees)
        dossier = Dossier(
            code="", procedure_code=procedure.code, process_instance_id="", channel=request.channel,
            applicant_type=request.applicant.type, applicant_id_number=request.applicant.id_number,
            applicant=request.applicant.model_dump(by_alias=True, exclude_none=True),
            receiving_unit=receiving.code, competent_unit=competent.code, status=Status.ACCEPTED.value,
            status_code=DVCQG_CODE[Status.ACCEPTED], stage="new", moh_route=moh_route,
            received_at=received_at, clock_started_at=received_at,
            appointment_at=appointment(calendar or self.calendars.working_calendar(session), procedure,
                                       received_at),
            fee_total=fee_total,
            fee_paid=request.fee_paid or fee_total == 0,
            payment_channel=request.payment_channel if request.fee_paid else None,
            consultations=[], transfers=[], created_by=actor, updated_at=now,
        )
        return Draft(dossier, documents, procedure, receiving, competent, now)

    @staticmethod
    def _competent_unit(session: Session, procedure: Procedure, request: ReceptionRequest, receiving: Unit) -> Unit:
        if procedure.level == "department":
            code = procedure.competent_unit
            if request.competent_unit and request.competent_unit != code:
                raise InvalidInput("Thủ tục cấp Sở do Sở Y tế giải quyết", field="competentUnit")
            competent = _unit(session, code or "", "competentUnit")
        else:
            competent = _unit(session, request.competent_unit or receiving.code, "competentUnit")
            if competent.type not in COMMUNE_TYPES:
                raise InvalidInput("Thủ tục cấp xã phải do UBND xã/phường/đặc khu giải quyết", field="competentUnit",
                                   code="wrong_level")
        if competent.code != receiving.code and not procedure.boundary_free:
            raise InvalidInput("Thủ tục này không tiếp nhận phi địa giới", field="receivingUnit",
                               code="not_boundary_free")
        if not receiving.reception:
            raise InvalidInput("Nơi tiếp nhận phải là Bộ phận Một cửa (của Sở hoặc UBND cấp xã)", field="receivingUnit",
                               code="not_a_reception_unit")
        return competent

    @staticmethod
    def _documents(session: Session, procedure: Procedure, request: ReceptionRequest) -> list[DossierDocument]:
        catalogue = {d["code"]: d for d in procedure.documents}
        problems: list[Problem] = []
        seen: set[str] = set()
        rows: list[DossierDocument] = []
        for index, item in enumerate(request.documents):
            field = f"documents.{index}.code"
            if item.code not in catalogue:
                problems.append(Problem("document_not_in_catalogue",
                                        f"'{item.code}' không có trong thành phần hồ sơ đã công bố; không được yêu "
                                        "cầu thêm giấy tờ ngoài danh mục", field=field))
                continue
            if item.code in seen:
                problems.append(Problem("duplicate_document", f"'{item.code}' khai hai lần", field=field))
                continue
            seen.add(item.code)
            row = DossierDocument(applicant_id_number=request.applicant.id_number, document_code=item.code,
                                  name=catalogue[item.code]["name"], originals=item.originals, copies=item.copies,
                                  digitised=item.digitised, from_national_store=item.from_national_store)
            if item.reuse_from:
                earlier = session.scalar(select(DossierDocument).where(
                    DossierDocument.dossier_code == item.reuse_from, DossierDocument.document_code == item.code,
                    DossierDocument.applicant_id_number == request.applicant.id_number,
                    DossierDocument.digitised.is_(True)))
                if earlier is None:
                    problems.append(Problem("nothing_to_reuse", f"Hồ sơ '{item.reuse_from}' của người nộp này không "
                                            f"có bản số hoá của '{item.code}'", field=f"documents.{index}.reuseFrom"))
                    continue
                row.reused, row.digitised, row.reused_from = True, True, item.reuse_from
                row.file_sha256, row.file_name = earlier.file_sha256, earlier.file_name
                row.content_type, row.size_bytes = earlier.content_type, earlier.size_bytes
            elif not (item.originals or item.copies or item.digitised or item.from_national_store):
                problems.append(Problem("document_without_copies", f"'{item.code}': cần số bản chính/bản sao, hoặc "
                                        "đánh dấu đã số hoá / lấy từ kho dữ liệu", field=f"documents.{index}"))
                continue
            rows.append(row)
        missing = [code for code, d in catalogue.items() if d.get("required", True) and code not in seen]
        for code in missing:
            problems.append(Problem("missing_document", f"Thiếu '{catalogue[code]['name']}'", field="documents"))
        if problems:
            first = problems[0]
            raise InvalidInput("Hồ sơ chưa đúng thành phần theo danh mục: " + first.message,
                               code="incomplete_dossier" if missing and first.code == "missing_document"
                               else first.code, field=first.field, problems=problems)
        return rows


@dataclass
class Draft:
    """A checked reception before it is numbered and started."""

    dossier: Dossier
    documents: list[DossierDocument]
    procedure: Procedure
    receiving: Unit
    competent: Unit
    now: datetime

    def variables(self) -> dict[str, Any]:
        """The process variables the procedure's diagram starts with (the dossier must be numbered)."""
        d = self.dossier
        return {"dossier_code": d.code, "procedure_code": d.procedure_code, "channel": d.channel,
                "receiving_unit": d.receiving_unit, "competent_unit": d.competent_unit, "moh_route": d.moh_route,
                "fee_total": d.fee_total, "boundary_free_transfer": d.receiving_unit != d.competent_unit}

    def received_change(self, actor: str | None) -> DossierChange:
        return DossierChange("received", self.now, actor, f"Tiếp nhận hồ sơ tại {self.receiving.name}")

    def received_event(self) -> dict[str, Any]:
        d = self.dossier
        return {"code": d.code, "receivingUnit": d.receiving_unit, "competentUnit": d.competent_unit,
                "channel": d.channel, "mohRoute": d.moh_route}


def _unit(session: Session, code: str, field: str) -> Unit:
    unit = session.get(Unit, code)
    if unit is None:
        raise InvalidInput(f"Không có đơn vị '{code}'", field=field, code="unknown_unit")
    return unit


def appointment(calendar: WorkingCalendar, procedure: Procedure, start: datetime) -> datetime:
    """When the result is due: the legal time counted in working days from `start`."""
    return processing_deadline(calendar, start, procedure.legal_days, procedure.legal_time_unit)
