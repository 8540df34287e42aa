"""The calendar as the API sees it: days with reasons, admin overrides, adding working days."""

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.calendar.workdays import MAX_DAYS, WorkingCalendar, why
from app.errors import InvalidInput, NotFound
from persistence.db import Database
from persistence.dossier_models import CalendarOverride

MAX_RANGE_DAYS = 3 * 366
KINDS = {"day-off": False, "working-day": True}
_OVERRIDES = select(CalendarOverride.day, CalendarOverride.kind)  # built once: read by most commands


class CalendarService:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def working_calendar(session: Session) -> WorkingCalendar:
        """The national calendar corrected by the admins' overrides, read in the caller's transaction."""
        rows = session.execute(_OVERRIDES).all()
        return WorkingCalendar({day: KINDS[kind] for day, kind in rows})

    def days(self, start: date, end: date) -> list[dict]:
        if end < start:
            raise InvalidInput("'from' phải trước hoặc bằng 'to'", field="to")
        if (end - start).days > MAX_RANGE_DAYS:
            raise InvalidInput("Khoảng ngày tối đa 3 năm", field="to")
        with self.db.read() as session:
            overrides = {row.day: (KINDS[row.kind], f"{row.reason} (điều chỉnh)")
                         for row in session.scalars(select(CalendarOverride).where(
                             CalendarOverride.day >= start, CalendarOverride.day <= end))}
        out = []
        current = start
        while current <= end:
            working, reason = why(current, overrides)
            out.append({"date": current.isoformat(), "working": working, "reason": reason})
            current += timedelta(days=1)
        return out

    def add_override(self, day: date, kind: str, reason: str, legal_reference: str | None,
                     actor: str | None) -> dict:
        if kind not in KINDS:
            raise InvalidInput("kind phải là 'day-off' hoặc 'working-day'", field="kind")
        national_working, national_reason = why(day)
        if national_working == KINDS[kind]:
            raise InvalidInput(f"Ngày {day.isoformat()} đã là '{national_reason}'; điều chỉnh không có tác dụng",
                               field="date", code="override_without_effect")
        try:
            with self.db.transaction() as session:
                if session.scalar(select(CalendarOverride.id).where(CalendarOverride.day == day)) is not None:
                    raise InvalidInput(f"Ngày {day.isoformat()} đã có điều chỉnh", field="date",
                                       code="overlapping_override")
                row = CalendarOverride(day=day, kind=kind, reason=reason, legal_reference=legal_reference,
                                       created_by=actor)
                session.add(row)
                session.flush()
                return _view(row)
        except IntegrityError as exc:  # a concurrent admin took the same date
            raise InvalidInput(f"Ngày {day.isoformat()} đã có điều chỉnh", field="date",
                               code="overlapping_override") from exc

    def delete_override(self, override_id: int) -> None:
        with self.db.transaction() as session:
            row = session.get(CalendarOverride, override_id)
            if row is None:
                raise NotFound(f"Không có điều chỉnh lịch số {override_id}", field="id")
            session.delete(row)

    def overrides(self) -> list[dict]:
        with self.db.read() as session:
            return [_view(r) for r in session.scalars(select(CalendarOverride).order_by(CalendarOverride.day))]

    def add_workdays(self, start: date, days: int) -> date:
        if days < 0 or days > MAX_DAYS:
            raise InvalidInput(f"days phải từ 0 đến {MAX_DAYS}", field="days")
        with self.db.read() as session:
            return self.working_calendar(session).add_working_days(start, days)


def _view(row: CalendarOverride) -> dict:
    return {"id": row.id, "date": row.day.isoformat(), "kind": row.kind, "reason": row.reason,
            "legalReference": row.legal_reference, "createdBy": row.created_by,
            "createdAt": row.created_at.isoformat() if row.created_at else None}
