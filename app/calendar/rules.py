"""The legal deadline rules (DOMAIN.md; Civil Code Art. 147–148; Decree 118 Art. 18–19) as pure functions.

A limit in working days starts on the day after the event and ends at the close of its last working
day (so a last day that is not a working day is never chosen); a limit in working hours starts at the
moment itself (Art. 147.1) and counts only working hours. A transfer received after 15:00 counts from
the next working day; a supplement restarts the processing time from zero when the completed dossier
returns; the one extension moves the appointment by its working days.
"""

from datetime import date, datetime, time

from app.calendar.workdays import LOCAL_TZ, WorkingCalendar

TRANSFER_CUTOFF = time(15, 0)
WORKING_DAYS = "working_days"
WORKING_HOURS = "working_hours"


def processing_deadline(calendar: WorkingCalendar, start: datetime, amount: float,
                        unit: str = WORKING_DAYS) -> datetime:
    """When a limit of `amount` working days (or hours) counted from `start` runs out, in UTC."""
    if unit == WORKING_HOURS:
        return calendar.add_working_hours(start, amount)
    return calendar.deadline(start, amount)


def transfer_counts_from(calendar: WorkingCalendar, at: datetime) -> date:
    """The working day a transferred dossier's step counts from: the same day before 15:00, else the next."""
    local = at.astimezone(LOCAL_TZ)
    day = local.date()
    if local.time() >= TRANSFER_CUTOFF or not calendar.is_working_day(day):
        return calendar.next_working_day(day)
    return day


def transfer_deadline(calendar: WorkingCalendar, at: datetime, days: float) -> datetime:
    """A step of `days` working days after a transfer at `at`: counted after its counting day."""
    start = datetime.combine(transfer_counts_from(calendar, at), time(7, 30), LOCAL_TZ)
    return calendar.deadline(start, days)


def after_supplement(calendar: WorkingCalendar, returned_at: datetime, amount: float,
                     unit: str = WORKING_DAYS) -> datetime:
    """The new appointment when the completed dossier comes back: the full time again, from zero."""
    return processing_deadline(calendar, returned_at, amount, unit)


def extended(calendar: WorkingCalendar, appointment_at: datetime, days: float) -> datetime:
    """The appointment moved by the single extension of `days` working days."""
    return calendar.deadline(appointment_at, days)
