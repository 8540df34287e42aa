"""The seven forms of Circular 03/2025/TT-VPCP (Annex I): what each shows, read from the dossier tables,
the task rows and the event log. `form_render.FormRenderer` turns that context into HTML and PDF.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.calendar.workdays import LOCAL_TZ
from app.dossiers.form_render import FormRenderer, fmt_datetime, lookup_url
from app.dossiers.status import LABEL_VI, Status
from app.dossiers.tracking import MINISTRY_MESSAGE
from app.errors import InvalidInput, MotcuaError, NotFound
from persistence.db import Database
from persistence.dossier_models import Dossier, DossierDocument, Procedure, Unit
from persistence.models import Event, HumanTask

PLACE = "Hải Phòng"
CITY_PEOPLES_COMMITTEE = "Ủy ban nhân dân thành phố Hải Phòng"
COMMUNE_TYPES = ("commune", "ward", "special-zone")
REGISTER_LIMIT = 5_000
CHANNELS = {"counter": "Trực tiếp tại Bộ phận Một cửa", "online": "Trực tuyến qua Cổng Dịch vụ công quốc gia",
            "post": "Qua dịch vụ bưu chính công ích"}
PAYMENT_CHANNELS = {"cash": "tiền mặt", "transfer": "chuyển khoản", "online": "trực tuyến"}
APPLICANT_TYPES = {"citizen": "Cá nhân", "business": "Doanh nghiệp", "agency": "Cơ quan nhà nước", "other": "Tổ chức"}
LIFECYCLE_EVENTS = ("dossier.supplement-request", "dossier.supplement-received", "dossier.extend",
                    "dossier.refuse", "dossier.withdraw", "message.received")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class FormSpec:
    number: str
    title: str
    issuer: str  # whose name heads the form: "receiving" or "competent" unit
    landscape: bool = False

    @property
    def template(self) -> str:
        return f"form{self.number}.html"

    @property
    def label(self) -> str:
        return f"Mẫu số {self.number}"


FORMS: dict[str, FormSpec] = {spec.number: spec for spec in (
    FormSpec("01", "Giấy tiếp nhận hồ sơ và hẹn trả kết quả", "receiving"),
    FormSpec("02", "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ", "competent"),
    FormSpec("03", "Phiếu từ chối tiếp nhận, giải quyết hồ sơ", "competent"),
    FormSpec("04", "Văn bản xin lỗi và hẹn lại ngày trả kết quả", "competent"),
    FormSpec("05", "Thông báo dừng giải quyết hồ sơ", "competent"),
    FormSpec("06", "Phiếu kiểm soát quá trình giải quyết hồ sơ", "receiving", landscape=True),
    FormSpec("07", "Sổ theo dõi hồ sơ", "competent", landscape=True),
)}


def form_spec(number: str) -> FormSpec:
    key = number.zfill(2) if number.isdigit() and len(number) <= 2 else number
    spec = FORMS.get(key)
    if spec is None:
        raise NotFound(f"Không có biểu mẫu '{number}'; dùng 01 đến 07 (Thông tư 03/2025/TT-VPCP, Phụ lục I)",
                       code="unknown_form", field="form")
    return spec


class FormNotApplicable(MotcuaError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, code="form_not_applicable", status=409,
                         title="Biểu mẫu chưa áp dụng cho hồ sơ này", field="form")


# --- context: what each form shows ----------------------------------------------------------------

class FormService:
    def __init__(self, db: Database, renderer: FormRenderer, public_base_url: str) -> None:
        self.db = db
        self.renderer = renderer
        self.public_base_url = public_base_url

    def render(self, code: str, number: str, fmt: str) -> tuple[bytes, str, str]:
        """(content, media type, file name) of form `number` of dossier `code` as "html" or "pdf"."""
        if fmt not in ("html", "pdf"):
            raise InvalidInput("Định dạng phải là html hoặc pdf", field="format")
        spec = form_spec(number)
        context = self.context(code, spec.number)
        name = f"mau-{spec.number}-{_SAFE_NAME.sub('_', code)}"
        if fmt == "pdf":
            return self.renderer.pdf(context), "application/pdf", f"{name}.pdf"
        return self.renderer.html(context).encode("utf-8"), "text/html; charset=utf-8", f"{name}.html"

    def context(self, code: str, number: str) -> dict[str, Any]:
        spec = form_spec(number)
        with self.db.read() as session:
            dossier = session.get(Dossier, code)
            if dossier is None:
                raise NotFound(f"Không có hồ sơ '{code}'", field="code")
            procedure = session.get(Procedure, dossier.procedure_code)
            receiving = session.get(Unit, dossier.receiving_unit)
            competent = session.get(Unit, dossier.competent_unit)
            issuer = receiving if spec.issuer == "receiving" else competent
            context: dict[str, Any] = {
                "form": spec,
                "agency": {"parent": _parent_name(session, issuer), "name": _unit_name(issuer)},
                "place": PLACE,
                "issued_at": datetime.now(UTC),
                "printed_at": datetime.now(UTC),
                "dossier": _dossier(dossier),
                "procedure": _procedure(procedure, dossier.procedure_code),
                "applicant": _applicant(dossier),
                "receiving": {"code": dossier.receiving_unit, "name": _unit_name(receiving)},
                "competent": {"code": dossier.competent_unit, "name": _unit_name(competent)},
                "lookup_url": lookup_url(self.public_base_url, code),
            }
            context.update(_BUILDERS[spec.number](session, dossier, context))
            return context


def _form01(session: Session, dossier: Dossier, context: dict[str, Any]) -> dict[str, Any]:
    documents = session.scalars(select(DossierDocument).where(DossierDocument.dossier_code == dossier.code)
                                .order_by(DossierDocument.id)).all()
    received = _first_event(session, dossier, "dossier.received")
    rows = [{"order": i, "name": d.name, "originals": d.originals or 0, "copies": d.copies or 0,
             "note": _document_note(d)} for i, d in enumerate(documents, start=1)]
    return {
        "issued_at": dossier.received_at,
        "documents": rows,
        "total_originals": sum(r["originals"] for r in rows),
        "total_copies": sum(r["copies"] for r in rows),
        "receiver": (received.actor if received else None) or dossier.created_by,
    }


def _form02(session: Session, dossier: Dossier, context: dict[str, Any]) -> dict[str, Any]:
    request = dossier.supplement_request
    if not request:
        raise FormNotApplicable("Hồ sơ chưa có yêu cầu bổ sung, hoàn thiện; Mẫu số 02 chưa áp dụng")
    requested_at = _parse(request.get("requestedAt")) or dossier.supplement_requested_at
    return {
        "issued_at": requested_at or context["issued_at"],
        "supplement": {"reason": request.get("reason") or "", "documents": list(request.get("documents") or []),
                       "requested_at": requested_at, "requested_by": request.get("requestedBy"),
                       "received_at": _parse(request.get("receivedAt")), "note": request.get("note")},
    }


def _form03(session: Session, dossier: Dossier, context: dict[str, Any]) -> dict[str, Any]:
    if dossier.status != Status.REFUSED.value:
        raise FormNotApplicable("Hồ sơ không ở trạng thái bị từ chối; Mẫu số 03 chưa áp dụng")
    return _stopped(session, dossier, context, "dossier.refuse")


def _form04(session: Session, dossier: Dossier, context: dict[str, Any]) -> dict[str, Any]:
    extension = dossier.extension
    if not extension:
        raise FormNotApplicable("Hồ sơ chưa được gia hạn; Mẫu số 04 chưa áp dụng")
    apology_at = _parse(extension.get("apologyAt"))
    return {"issued_at": apology_at or context["issued_at"],
            "extension": {"reason": extension.get("reason") or "", "days": extension.get("days"),
                          "previous": _parse(extension.get("previousAppointment")),
                          "new": _parse(extension.get("newAppointment")) or dossier.appointment_at,
                          "at": apology_at, "by": extension.get("by")}}


def _form05(session: Session, dossier: Dossier, context: dict[str, Any]) -> dict[str, Any]:
    if dossier.status != Status.WITHDRAWN.value:
        raise FormNotApplicable("Hồ sơ chưa dừng giải quyết (chưa rút); Mẫu số 05 chưa áp dụng")
    return _stopped(session, dossier, context, "dossier.withdraw")


def _stopped(session: Session, dossier: Dossier, context: dict[str, Any], event_type: str) -> dict[str, Any]:
    event = _first_event(session, dossier, event_type)
    return {"issued_at": dossier.stopped_at or context["issued_at"],
            "stop": {"reason": dossier.stop_reason or "", "at": dossier.stopped_at,
                     "by": event.actor if event else None}}


def _form06(session: Session, dossier: Dossier, context: dict[str, Any]) -> dict[str, Any]:
    """One row per hand-over: reception, then every step's task row and the lifecycle events, in time order."""
    now = datetime.now(UTC)
    applicant = f"Người nộp: {context['applicant']['name']}"
    receiving, competent = context["receiving"]["name"], context["competent"]["name"]
    received = _first_event(session, dossier, "dossier.received")
    entries: list[tuple[datetime, int, dict[str, Any]]] = [(dossier.received_at, 0, {
        "to": receiving, "step": "Tiếp nhận hồ sơ", "handed_at": dossier.received_at,
        "due_at": None, "done_at": received.at if received else dossier.received_at,
        "by": (received.actor if received else None) or dossier.created_by, "result": "Đã tiếp nhận",
        "note": CHANNELS.get(dossier.channel, dossier.channel), "from": applicant})]
    tasks = session.scalars(select(HumanTask).where(HumanTask.process_instance_id == dossier.process_instance_id)
                            .order_by(HumanTask.created_at, HumanTask.id)).all()
    for task in tasks:
        unit = {"receiving": receiving, "competent": competent}.get(task.properties.get("motcua:unit") or "")
        to = unit or task.lane_name or task.lane or ""
        if unit and task.lane_name and task.lane_name != unit:
            to = f"{unit} ({task.lane_name})"
        done_at = task.completed_at if task.status == "completed" else None
        note = ""
        if task.properties.get("motcua:step") == "return" and done_at and dossier.returned_at:
            note = "Đã trả kết quả cho người nộp"
        entries.append((task.created_at, 1, {
            "to": to, "step": task.name or task.element_id, "handed_at": task.created_at, "due_at": task.due_at,
            "done_at": done_at, "by": task.completed_by if done_at else task.assignee,
            "result": "Dừng xử lý" if task.status == "cancelled" else _timeliness(done_at, task.due_at, now),
            "note": note}))
    events = session.scalars(select(Event).where(Event.process_instance_id == dossier.process_instance_id,
                                                 Event.type.in_(LIFECYCLE_EVENTS))
                             .order_by(Event.at, Event.id)).all()
    for event in events:
        row = _event_row(event, applicant, competent)
        if row:
            entries.append((event.at, 2, row))
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    rows, holder = [], applicant
    for order, (_, _, row) in enumerate(entries, start=1):
        row.setdefault("from", holder)
        row["order"] = order
        if "keeps" in row:  # a letter to (or papers from) the applicant; the dossier stays with its holder
            row["to"] = row.pop("keeps") or holder
        else:
            holder = row["to"] or holder
        rows.append(row)
    return {"issued_at": now, "handovers": rows}


def _event_row(event: Event, applicant: str, competent: str) -> dict[str, Any] | None:
    """A lifecycle action as a row; only a result coming back from the Ministry moves the dossier ("to"),
    the others are letters to or from the applicant while the dossier stays where it is ("keeps")."""
    data = event.data or {}
    row: dict[str, Any] = {"handed_at": event.at, "due_at": None, "done_at": event.at, "by": event.actor}
    if event.type == "dossier.supplement-request":
        documents = "; ".join(str(d) for d in data.get("documents") or [])
        return {**row, "keeps": applicant, "step": "Yêu cầu bổ sung, hoàn thiện hồ sơ",
                "result": "Tạm dừng tính thời hạn",
                "note": f"{data.get('reason', '')}{': ' + documents if documents else ''}"}
    if event.type == "dossier.supplement-received":
        return {**row, "from": applicant, "keeps": None, "step": "Nhận hồ sơ đã bổ sung",
                "result": "Tính lại thời hạn", "note": data.get("note") or ""}
    if event.type == "dossier.extend":
        return {**row, "keeps": applicant, "step": "Xin lỗi và hẹn lại ngày trả kết quả", "result": "Gia hạn",
                "note": f"Hẹn mới {fmt_datetime(_parse(data.get('newAppointment')))}. {data.get('reason', '')}"}
    if event.type in ("dossier.refuse", "dossier.withdraw"):
        label = "Từ chối giải quyết" if event.type == "dossier.refuse" else "Người nộp rút hồ sơ, dừng giải quyết"
        return {**row, "keeps": applicant, "step": label, "result": "Dừng xử lý", "note": data.get("reason") or ""}
    if event.type == "message.received" and data.get("messageName") == MINISTRY_MESSAGE:
        return {**row, "from": "Hệ thống giải quyết TTHC Bộ Y tế", "to": competent, "step": "Nhận kết quả từ Bộ Y tế",
                "result": "Đã nhận", "note": ""}
    return None


def _form07(session: Session, dossier: Dossier, context: dict[str, Any]) -> dict[str, Any]:
    """The competent unit's register for the calendar month (Asia/Ho_Chi_Minh) in which this dossier came in."""
    local = dossier.received_at.astimezone(LOCAL_TZ)
    start = datetime(local.year, local.month, 1, tzinfo=LOCAL_TZ)
    end = datetime(local.year + (local.month == 12), local.month % 12 + 1, 1, tzinfo=LOCAL_TZ)
    receiving = aliased(Unit)
    query = (
        select(Dossier.code, Procedure.name, Dossier.applicant, Dossier.receiving_unit,
               receiving.name.label("receiving_name"), receiving.parent_code.label("receiving_parent"),
               Dossier.received_at, Dossier.appointment_at,
               Dossier.finished_at, Dossier.returned_at, Dossier.stopped_at, Dossier.status, Dossier.stop_reason,
               Dossier.supplement_count, Dossier.extension_count)
        .join(Procedure, Procedure.code == Dossier.procedure_code)
        .join(receiving, receiving.code == Dossier.receiving_unit)
        .where(Dossier.competent_unit == dossier.competent_unit, Dossier.received_at >= start,
               Dossier.received_at < end)
        .order_by(Dossier.received_at, Dossier.code)
        .limit(REGISTER_LIMIT)
    )
    rows = []
    for order, row in enumerate(session.execute(query), start=1):
        notes = []
        if dossier.competent_unit not in (row.receiving_unit, row.receiving_parent):  # boundary-free reception
            notes.append(f"Tiếp nhận tại {row.receiving_name}")
        if row.supplement_count:
            notes.append("Có yêu cầu bổ sung")
        if row.extension_count:
            notes.append("Có gia hạn, xin lỗi")
        if row.finished_at and row.finished_at > row.appointment_at:
            notes.append("Trễ hẹn")
        if row.stop_reason:
            notes.append(row.stop_reason)
        rows.append({"order": order, "code": row.code, "procedure": row.name,
                     "applicant": (row.applicant or {}).get("name", ""), "received_at": row.received_at,
                     "appointment_at": row.appointment_at, "finished_at": row.finished_at,
                     "returned_at": row.returned_at or row.stopped_at,
                     "status": LABEL_VI.get(Status(row.status), row.status), "note": "; ".join(notes),
                     "current": row.code == dossier.code})
    return {"issued_at": datetime.now(UTC), "register": rows, "month": f"{local.month:02d}/{local.year}",
            "truncated": len(rows) >= REGISTER_LIMIT}


_BUILDERS: dict[str, Callable[[Session, Dossier, dict[str, Any]], dict[str, Any]]] = {
    "01": _form01, "02": _form02, "03": _form03, "04": _form04, "05": _form05, "06": _form06, "07": _form07,
}


def _timeliness(done_at: datetime | None, due_at: datetime | None, now: datetime) -> str:
    """Early: done on a working day before the due day; on time: by the due time; late: after it."""
    if done_at is None:
        return "Đang xử lý, quá hạn" if due_at is not None and now > due_at else "Đang xử lý"
    if due_at is None:
        return "Đã xử lý"
    if done_at > due_at:
        return "Quá hạn"
    if done_at.astimezone(LOCAL_TZ).date() < due_at.astimezone(LOCAL_TZ).date():
        return "Trước hạn"
    return "Đúng hạn"


def _dossier(row: Dossier) -> dict[str, Any]:
    status = Status(row.status)
    return {"code": row.code, "channel": CHANNELS.get(row.channel, row.channel), "status": status.value,
            "status_label": LABEL_VI[status], "received_at": row.received_at, "appointment_at": row.appointment_at,
            "finished_at": row.finished_at, "returned_at": row.returned_at, "stopped_at": row.stopped_at,
            "fee_total": row.fee_total, "fee_paid": row.fee_paid,
            "payment_channel": PAYMENT_CHANNELS.get(row.payment_channel or "", row.payment_channel)}


def _procedure(row: Procedure | None, code: str) -> dict[str, Any]:
    if row is None:
        return {"code": code, "name": code, "legal_days": None, "time_unit": "", "fees": []}
    days = row.legal_days
    unit = "giờ làm việc" if row.legal_time_unit == "working_hours" else "ngày làm việc"
    return {"code": row.code, "name": row.name, "legal_days": int(days) if float(days).is_integer() else days,
            "time_unit": unit, "fees": [{"name": f.get("name", ""), "amount": int(f.get("amount", 0))}
                                        for f in row.fees or []]}


def _applicant(row: Dossier) -> dict[str, Any]:
    data = row.applicant or {}
    return {"name": data.get("name") or "", "id_number": data.get("idNumber") or row.applicant_id_number,
            "phone": data.get("phone") or "", "email": data.get("email") or "", "address": data.get("address") or "",
            "type": APPLICANT_TYPES.get(data.get("type") or row.applicant_type, "")}


def _document_note(row: DossierDocument) -> str:
    marks = []
    if row.reused:
        marks.append(f"Tái sử dụng từ hồ sơ {row.reused_from}" if row.reused_from else "Tái sử dụng")
    elif row.digitised:
        marks.append("Đã số hoá")
    if row.from_national_store:
        marks.append("Lấy từ kho dữ liệu quốc gia")
    return "; ".join(marks)


def _first_event(session: Session, dossier: Dossier, event_type: str) -> Event | None:
    return session.scalars(select(Event).where(Event.process_instance_id == dossier.process_instance_id,
                                               Event.type == event_type).order_by(Event.id).limit(1)).first()


def _unit_name(unit: Unit | None) -> str:
    return unit.name if unit is not None else ""


def _parent_name(session: Session, unit: Unit | None) -> str:
    """The line above the issuing agency's name in the masthead (tên cơ quan chủ quản)."""
    if unit is None:
        return ""
    if unit.type in COMMUNE_TYPES:
        return "Ủy ban nhân dân"
    if unit.parent_code:
        parent = session.get(Unit, unit.parent_code)
        if parent is not None:
            return parent.name
    return CITY_PEOPLES_COMMITTEE


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
