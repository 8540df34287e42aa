"""Due times of human tasks from `camunda:dueDate` (ISO 8601 date-time or duration)."""

from datetime import UTC, datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition


def resolve_due(expression: str | None, now: datetime) -> datetime | None:
    """An absolute ISO date-time, or a duration counted from `now`; anything else has no due time yet.

    Working-day expressions belong to the calendar (a later layer); wall-clock durations are only the
    fallback ARCHITECTURE decision 5 allows for diagrams that state one.
    """
    if not expression:
        return None
    text = expression.strip()
    try:
        if text.startswith("P"):
            return now + TimerEventDefinition.get_timedelta_from_start(
                TimerEventDefinition.parse_iso_duration(text), now)
        value = datetime.fromisoformat(text)
    except (ValueError, TypeError, AttributeError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
