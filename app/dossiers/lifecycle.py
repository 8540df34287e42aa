"""Dossier actions beside the diagram's steps: supplement, refusal, withdrawal, extension, return of result.

Each action is one transaction through InstanceService.command(): the dossier row carries a version
counter, so two clerks acting at once get one success and one 409.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.calendar.rules import extended, transfer_counts_from
from app.calendar.service import CalendarService
from app.dossiers import requests as rq
from app.dossiers.changes import DossierChange, DossierChanges
from app.dossiers.reception import COMMUNE_TYPES, appointment
from app.dossiers.status import DVCQG_CODE, OPEN_STATUSES, Status, stage_of
from app.dossiers.views import DossierView
from app.errors import Conflict, InvalidInput, NotFound, invalid_body
from app.processes.instances import InstanceService
from persistence import repositories as repo
from persistence.dossier_models import Dossier, DossierDocument, Procedure, Unit
from persistence.models import Event

ACTIONS: dict[str, type[BaseModel]] = {
    "supplement-request": rq.SupplementRequest,
    "supplement-received": rq.SupplementReceived,
    "refuse": rq.RefuseRequest,
    "withdraw": rq.WithdrawRequest,
    "extend": rq.ExtendRequest,
    "return-result": rq.ReturnResultRequest,
    "transfer": rq.TransferRequest,
    "consult": rq.ConsultRequest,
    "consult-answered": rq.ConsultAnswered,
}
ACTION_LABEL_VI = {
    "supplement-request": "Yêu cầu bổ sung hồ sơ",
    "supplement-received": "Nhận hồ sơ đã bổ sung",
    "refuse": "Từ chối giải quyết",
    "withdraw": "Công dân rút hồ sơ, dừng xử lý",
    "extend": "Gia hạn thời gian giải quyết, gửi thư xin lỗi",
    "return-result": "Trả kết quả",
    "transfer": "Chuyển hồ sơ sang cơ quan có thẩm quyền",
    "consult": "Lấy ý kiến cơ quan liên quan",
    "consult-answered": "Nhận ý kiến của cơ quan được hỏi",
}
DECIDED_STEPS = ("issue", "return")
# Decree 118 gives the applicant 15 days (not working days) to bring a requested supplement.
SUPPLEMENT_ANSWER_TIME = timedelta(days=15)


class LifecycleService:
    def __init__(self, instances: InstanceService, calendars: CalendarService,
                 changes: DossierChanges | None = None) -> None:
        self.instances = instances
        self.calendars = calendars
        self.changes = changes or DossierChanges()
        self._handlers: dict[str, Callable[[Session, Dossier, Any, str | None, datetime], dict[str, Any]]] = {
            "supplement-request": self._supplement_request,
            "supplement-received": self._supplement_received,
            "refuse": self._refuse,
            "withdraw": self._withdraw,
            "extend": self._extend,
            "return-result": self._return_result,
            "transfer": self._transfer,
            "consult": self._consult,
            "consult-answered": self._consult_answered,
        }

    def act(self, code: str, action: str, body: dict[str, Any], actor: str | None = None) -> DossierView:
        model = ACTIONS.get(action)
        if model is None:
            raise NotFound(f"Không có thao tác '{action}'; dùng một trong: {', '.join(ACTIONS)}", field="action",
                           code="unknown_action")
        try:
            request = model.model_validate(body)
        except ValidationError as exc:
            raise invalid_body(f"Dữ liệu thao tác '{action}' không hợp lệ", exc.errors()) from exc
        with self.instances.command() as session:
            dossier = session.get(Dossier, code)
            if dossier is None:
                raise NotFound(f"Không có hồ sơ '{code}'", field="code")
            self.instances.lock_in(session, dossier.process_instance_id)  # instance before dossier, like the worker
            now = datetime.now(UTC)
            data = self._handlers[action](session, dossier, request, actor, now)
            dossier.updated_at = now  # always written, so the version check always runs
            session.add(Event(process_instance_id=dossier.process_instance_id, type=f"dossier.{action}",
                              actor=actor, at=now, data=data))
            self.changes.announce(session, dossier, DossierChange(action, now, actor, ACTION_LABEL_VI.get(action)))
            session.flush()
            documents = list(session.scalars(select(DossierDocument).where(DossierDocument.dossier_code == code)
                                             .order_by(DossierDocument.id)))
            procedure = session.get(Procedure, dossier.procedure_code)
            return DossierView.of(dossier, documents, procedure.name if procedure else None)

    def close_unanswered_supplements(self, now: datetime) -> int:
        """Worker scan: a supplement request unanswered for 15 days closes the dossier (DOMAIN §5, Art. 19)."""
        limit = now - SUPPLEMENT_ANSWER_TIME
        with self.instances.db.read() as session:
            codes = list(session.scalars(select(Dossier.code).where(
                Dossier.status == Status.SUPPLEMENT_REQUESTED.value, Dossier.supplement_requested_at < limit)
                .order_by(Dossier.supplement_requested_at).limit(100)))
        closed = 0
        for code in codes:
            try:
                with self.instances.command() as session:
                    dossier = session.get(Dossier, code)
                    self.instances.lock_in(session, dossier.process_instance_id)
                    session.refresh(dossier)
                    if dossier.status != Status.SUPPLEMENT_REQUESTED.value or dossier.supplement_requested_at >= limit:
                        continue  # answered meanwhile, or another worker closed it
                    reason = "Quá 15 ngày kể từ ngày yêu cầu bổ sung mà công dân không bổ sung hồ sơ"
                    self._stop(session, dossier, Status.CLOSED, reason, "worker", now)
                    dossier.updated_at = now
                    session.add(Event(process_instance_id=dossier.process_instance_id, type="dossier.closed",
                                      actor="worker", at=now, data={"reason": reason}))
                    self.changes.announce(session, dossier, DossierChange("closed", now, "worker", reason))
                    closed += 1
            except Conflict:
                continue  # a person acted on it at the same moment; the next scan looks again
        return closed

    # --- the actions -----------------------------------------------------------------------------

    def _supplement_request(self, session: Session, dossier: Dossier, request: rq.SupplementRequest,
                            actor: str | None, now: datetime) -> dict[str, Any]:
        _require(dossier, (Status.ACCEPTED, Status.IN_PROGRESS), "yêu cầu bổ sung")
        if dossier.supplement_count >= 1:
            raise Conflict("Hồ sơ chỉ được yêu cầu bổ sung một lần", code="supplement_limit_reached")
        self.instances.set_suspended_in(session, dossier.process_instance_id, True, reason="supplement", actor=actor)
        late = self.calendars.working_calendar(session).working_days_between(dossier.received_at.date(), now.date()) > 3
        dossier.supplement_count += 1
        dossier.supplement_requested_at = now
        dossier.supplement_request = {"reason": request.reason, "documents": request.documents,
                                      "requestedAt": now.isoformat(), "requestedBy": actor,
                                      "afterThreeWorkingDays": late}
        _set_status(dossier, Status.SUPPLEMENT_REQUESTED)
        return {"reason": request.reason, "documents": request.documents}

    def _supplement_received(self, session: Session, dossier: Dossier, request: rq.SupplementReceived,
                             actor: str | None, now: datetime) -> dict[str, Any]:
        _require(dossier, (Status.SUPPLEMENT_REQUESTED,), "nhận hồ sơ bổ sung")
        procedure = session.get(Procedure, dossier.procedure_code)
        # The processing time restarts from zero when the completed dossier comes back (Art. 19).
        dossier.clock_started_at = now
        dossier.appointment_at = appointment(self.calendars.working_calendar(session), procedure, now)
        dossier.supplement_request = {**(dossier.supplement_request or {}), "receivedAt": now.isoformat(),
                                      "note": request.note}
        _set_status(dossier, Status.IN_PROGRESS)
        self.instances.set_suspended_in(session, dossier.process_instance_id, False, reason="supplement received",
                                        actor=actor)
        return {"appointmentAt": dossier.appointment_at.isoformat(), "note": request.note}

    def _refuse(self, session: Session, dossier: Dossier, request: rq.RefuseRequest, actor: str | None,
                now: datetime) -> dict[str, Any]:
        _require(dossier, OPEN_STATUSES, "từ chối")
        self._stop(session, dossier, Status.REFUSED, request.reason, actor, now)
        return {"reason": request.reason}

    def _withdraw(self, session: Session, dossier: Dossier, request: rq.WithdrawRequest, actor: str | None,
                  now: datetime) -> dict[str, Any]:
        _require(dossier, OPEN_STATUSES, "rút hồ sơ")
        if dossier.current_step in DECIDED_STEPS:
            raise Conflict("Hồ sơ đã có quyết định; không thể rút", code="already_decided")
        self._stop(session, dossier, Status.WITHDRAWN, request.reason, actor, now)
        return {"reason": request.reason}

    def _extend(self, session: Session, dossier: Dossier, request: rq.ExtendRequest, actor: str | None,
                now: datetime) -> dict[str, Any]:
        _require(dossier, OPEN_STATUSES, "gia hạn")
        if dossier.extension_count >= 1:
            raise Conflict("Thời hạn giải quyết chỉ được gia hạn một lần", code="extension_limit_reached")
        previous = dossier.appointment_at
        dossier.appointment_at = extended(self.calendars.working_calendar(session), previous, request.days)
        dossier.extension_count += 1
        dossier.extension = {"reason": request.reason, "days": request.days,
                             "previousAppointment": previous.isoformat(),
                             "newAppointment": dossier.appointment_at.isoformat(), "apologyAt": now.isoformat(),
                             "by": actor}
        return dict(dossier.extension)

    def _return_result(self, session: Session, dossier: Dossier, request: rq.ReturnResultRequest,
                       actor: str | None, now: datetime) -> dict[str, Any]:
        _require(dossier, (Status.FINISHED,), "trả kết quả")
        task = next((t for t in repo.open_tasks_of(session, [dossier.process_instance_id])
                     if t.properties.get("motcua:step") == "return"), None)
        if task is None:
            raise Conflict("Hồ sơ chưa đến bước trả kết quả", code="not_at_return_step")
        result = {"number": request.result_number, "electronic": request.electronic, "note": request.note,
                  "returnedAt": now.isoformat(), "returnedBy": actor}
        dossier.result = {**(dossier.result or {}), **result}
        self.instances.complete_in(session, task.id, {"result_returned": True}, actor)
        return result

    def _transfer(self, session: Session, dossier: Dossier, request: rq.TransferRequest, actor: str | None,
                  now: datetime) -> dict[str, Any]:
        """Hand the dossier to another competent unit of the same level; its code never changes."""
        _require(dossier, (Status.ACCEPTED, Status.IN_PROGRESS), "chuyển hồ sơ")
        target = session.get(Unit, request.to_unit)
        if target is None:
            raise InvalidInput(f"Không có đơn vị '{request.to_unit}'", field="toUnit", code="unknown_unit")
        current = session.get(Unit, dossier.competent_unit)
        if target.code == dossier.competent_unit:
            raise InvalidInput("Hồ sơ đã ở đơn vị này", field="toUnit", code="same_unit")
        if (target.type in COMMUNE_TYPES) != (current is not None and current.type in COMMUNE_TYPES):
            raise InvalidInput("Chỉ chuyển giữa các cơ quan cùng cấp có thẩm quyền", field="toUnit",
                               code="wrong_level")
        counts_from = transfer_counts_from(self.calendars.working_calendar(session), now)
        transfer = {"from": dossier.competent_unit, "to": target.code, "reason": request.reason, "at": now.isoformat(),
                    "countsFrom": counts_from.isoformat(), "by": actor}
        dossier.transfers = [*dossier.transfers, transfer]
        dossier.competent_unit = target.code
        return transfer

    def _consult(self, session: Session, dossier: Dossier, request: rq.ConsultRequest, actor: str | None,
                 now: datetime) -> dict[str, Any]:
        _require(dossier, (Status.ACCEPTED, Status.IN_PROGRESS), "lấy ý kiến")
        if session.get(Unit, request.unit) is None:
            raise InvalidInput(f"Không có đơn vị '{request.unit}'", field="unit", code="unknown_unit")
        due = self.calendars.working_calendar(session).deadline(now, request.days)
        consultation = {"id": len(dossier.consultations) + 1, "unit": request.unit, "question": request.question,
                        "askedAt": now.isoformat(), "dueAt": due.isoformat(), "askedBy": actor, "answer": None,
                        "answeredAt": None}
        dossier.consultations = [*dossier.consultations, consultation]
        return consultation

    def _consult_answered(self, session: Session, dossier: Dossier, request: rq.ConsultAnswered,
                          actor: str | None, now: datetime) -> dict[str, Any]:
        consultations = [dict(c) for c in dossier.consultations]
        if not 1 <= request.consultation <= len(consultations):
            raise InvalidInput(f"Không có lần lấy ý kiến số {request.consultation}", field="consultation",
                               code="unknown_consultation")
        entry = consultations[request.consultation - 1]
        if entry["answer"] is not None:
            raise Conflict("Lần lấy ý kiến này đã có trả lời", code="already_answered")
        entry.update(answer=request.answer, answeredAt=now.isoformat(), answeredBy=actor,
                     late=now.isoformat() > entry["dueAt"])
        dossier.consultations = consultations
        return entry

    def _stop(self, session: Session, dossier: Dossier, status: Status, reason: str, actor: str | None,
              now: datetime) -> None:
        self.instances.terminate_in(session, dossier.process_instance_id, reason=f"{status.value}: {reason}",
                                    actor=actor)
        dossier.stop_reason = reason
        dossier.stopped_at = now
        _set_status(dossier, status)


def _require(dossier: Dossier, allowed: tuple[Status, ...], what: str) -> None:
    if Status(dossier.status) not in allowed:
        raise Conflict(f"Không thể {what} khi hồ sơ đang ở trạng thái '{dossier.status}'",
                       code="action_not_allowed")


def _set_status(dossier: Dossier, status: Status) -> None:
    dossier.status = status.value
    dossier.status_code = DVCQG_CODE[status]
    dossier.stage = stage_of(status, dossier.current_step, dossier.current_step == "ministry")

