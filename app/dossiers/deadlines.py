"""The deadline scan the worker runs: newly overdue dossiers and steps, and the apology reminder (Art. 12.5).

Each finding is flagged on its row and written once to the history, so any number of workers may scan
(PostgreSQL: rows are claimed with SKIP LOCKED) and a restart never repeats an event. Notification
messages are announced to app/integrations, which writes them to the outbox (national portal step and a
`notify` row for the staff notification channel).
"""

from datetime import datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.calendar.service import CalendarService
from app.calendar.workdays import LOCAL_TZ, WorkingCalendar
from app.dossiers.changes import DossierChange, DossierChanges
from app.dossiers.status import Status
from persistence.db import Database
from persistence.dossier_models import Dossier
from persistence.models import Event, HumanTask

RUNNING = (Status.ACCEPTED.value, Status.IN_PROGRESS.value)  # waiting for a supplement stops the clock
BATCH = 500
OPENING = time(7, 30)
REMINDER_HORIZON = timedelta(days=30)  # no run of days off is longer than this before an appointment


def apology_reminder_at(calendar: WorkingCalendar, appointment_at: datetime) -> datetime:
    """Opening of the last working day before the appointment's day: the apology (Form 04) must go out
    at least one working day before the deadline, so this is the last day to write it."""
    appointment_day = appointment_at.astimezone(LOCAL_TZ).date()
    day = appointment_day - timedelta(days=1)
    while not calendar.is_working_day(day):
        day -= timedelta(days=1)
    return datetime.combine(day, OPENING, LOCAL_TZ)


class DeadlineScan:
    def __init__(self, db: Database, calendars: CalendarService, changes: DossierChanges | None = None) -> None:
        self.db = db
        self.calendars = calendars
        self.changes = changes or DossierChanges()  # integrations turn these into portal and staff messages

    def __call__(self, now: datetime) -> int:
        with self.db.transaction() as session:
            found = self._overdue_dossiers(session, now) + self._overdue_steps(session, now)
            found += self._apology_reminders(session, now)
            self._reset_moved_deadlines(session, now)
            return found

    def _locked(self, query):
        return query.with_for_update(skip_locked=True) if self.db.dialect == "postgresql" else query

    def _overdue_dossiers(self, session: Session, now: datetime) -> int:
        rows = list(session.scalars(self._locked(select(Dossier).where(
            Dossier.overdue_at.is_(None), Dossier.appointment_at < now, Dossier.status.in_(RUNNING))
            .order_by(Dossier.appointment_at).limit(BATCH))))
        for dossier in rows:
            dossier.overdue_at = now
            session.add(Event(process_instance_id=dossier.process_instance_id, type="dossier.overdue", at=now,
                              actor="worker", data={"code": dossier.code,
                                                    "appointmentAt": dossier.appointment_at.isoformat(),
                                                    "competentUnit": dossier.competent_unit}))
            self.changes.announce(session, dossier, DossierChange("overdue", now, "worker", "Hồ sơ quá hạn giải quyết"))
        return len(rows)

    def _overdue_steps(self, session: Session, now: datetime) -> int:
        rows = list(session.scalars(self._locked(select(HumanTask).where(
            HumanTask.status == "open", HumanTask.overdue_at.is_(None), HumanTask.due_at < now)
            .order_by(HumanTask.due_at).limit(BATCH))))
        for task in rows:
            task.overdue_at = now
            session.add(Event(process_instance_id=task.process_instance_id, type="task.overdue", at=now,
                              element_id=task.element_id, actor="worker",
                              data={"taskId": task.id, "dueAt": task.due_at.isoformat() if task.due_at else None,
                                    "assignee": task.assignee, "candidateGroups": task.candidate_groups}))
        return len(rows)

    def _apology_reminders(self, session: Session, now: datetime) -> int:
        rows = list(session.scalars(self._locked(select(Dossier).where(
            Dossier.apology_due_notified_at.is_(None), Dossier.extension_count == 0,
            Dossier.status.in_(RUNNING), Dossier.appointment_at < now + REMINDER_HORIZON)
            .order_by(Dossier.appointment_at).limit(BATCH))))
        if not rows:
            return 0
        calendar = self.calendars.working_calendar(session)
        count = 0
        for dossier in rows:
            remind_at = apology_reminder_at(calendar, dossier.appointment_at)
            if now < remind_at:
                continue
            dossier.apology_due_notified_at = now
            session.add(Event(process_instance_id=dossier.process_instance_id, type="dossier.apology_due", at=now,
                              actor="worker", data={"code": dossier.code,
                                                    "appointmentAt": dossier.appointment_at.isoformat(),
                                                    "form": "04"}))
            self.changes.announce(session, dossier, DossierChange(
                "apology_due", now, "worker", "Đến hạn gửi thư xin lỗi và hẹn lại ngày trả kết quả (Mẫu 04)"))
            count += 1
        return count

    @staticmethod
    def _reset_moved_deadlines(session: Session, now: datetime) -> None:
        """A supplement restarts the clock and an extension moves the appointment: the flags start again."""
        session.execute(update(Dossier).where(Dossier.overdue_at.is_not(None), Dossier.appointment_at > now)
                        .values(overdue_at=None))
        session.execute(update(Dossier).where(Dossier.apology_due_notified_at.is_not(None),
                                              Dossier.apology_due_notified_at < Dossier.clock_started_at)
                        .values(apology_due_notified_at=None))
