"""Due times of human tasks from `camunda:dueDate`: workdays(n), workhours(n), ISO 8601 duration or date-time."""

from datetime import datetime

from app.engine import timers


def resolve_due(expression: str | None, now: datetime, calendar: timers.TimerCalendar | None = None,
                data: dict | None = None) -> datetime | None:
    """The absolute due time, or None when the task has none (or names a variable the instance lacks)."""
    if not expression:
        return None
    try:
        return timers.parse(expression).due(now, calendar or timers.WallClock(), data)
    except (timers.InvalidTimer, ValueError, TypeError):
        return None
