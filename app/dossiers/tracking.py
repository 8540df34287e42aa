"""Keeps each dossier's status, stage and step due times in step with its process instance.

Registered as an instance listener, so it runs in the same transaction as every engine change,
whichever route caused it (task completion, message, dossier action).
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from app.calendar.service import CalendarService
from app.calendar.workdays import WorkingCalendar
from app.dossiers.changes import DossierChange, DossierChanges
from app.dossiers.status import DVCQG_CODE, LABEL_VI, Status, stage_of
from persistence.dossier_models import Dossier
from persistence.models import HumanTask, ProcessInstance, Wait
from persistence.repositories import dossier_of_instance

MINISTRY_MESSAGE = "moh_result"


class DossierTracker:
    def __init__(self, calendars: CalendarService, changes: DossierChanges | None = None) -> None:
        self.calendars = calendars
        self.changes = changes or DossierChanges()

    def __call__(self, session: Session, instance: ProcessInstance, tasks: list[HumanTask], waits: list[Wait],
                 now: datetime) -> None:
        dossier = dossier_of_instance(session, instance)
        if dossier is not None:
            self.sync(session, dossier, instance, tasks, waits, now)

    def sync(self, session: Session, dossier: Dossier, instance: ProcessInstance, tasks: list[HumanTask],
             waits: list[Wait], now: datetime) -> None:
        change = follow(dossier, instance.status, tasks, waits, now)
        if change is not None:
            self.changes.announce(session, dossier, change)
        fill_due_times(tasks, lambda: self.calendars.working_calendar(session), now)


def follow(dossier: Dossier, instance_status: str, tasks: list[HumanTask], waits: list[Wait],
           now: datetime) -> DossierChange | None:
    """Moves the dossier's status, stage and step to where its instance is; the change to announce, if any."""
    step = next((t.properties.get("motcua:step") for t in tasks if t.properties.get("motcua:step")), None)
    waiting_ministry = any(w.kind == "message" and w.name == MINISTRY_MESSAGE for w in waits)
    status = Status(dossier.status)
    before = (dossier.status, dossier.current_step)
    if instance_status == "completed" and status in (Status.ACCEPTED, Status.IN_PROGRESS, Status.FINISHED):
        status = Status.RETURNED
        dossier.finished_at = dossier.finished_at or now
        dossier.returned_at = now
    elif instance_status == "running":
        if step == "return":
            status = Status.FINISHED
            dossier.finished_at = dossier.finished_at or now
        elif status == Status.ACCEPTED and (waiting_ministry or step not in (None, "assign")):
            status = Status.IN_PROGRESS
    dossier.status = status.value
    dossier.status_code = DVCQG_CODE[status]
    dossier.current_step = step or ("ministry" if waiting_ministry else None)
    dossier.stage = stage_of(status, step, waiting_ministry)
    dossier.updated_at = now
    if (dossier.status, dossier.current_step) == before:
        return None
    actor = next((t.completed_by for t in tasks if t.completed_by), None)
    return DossierChange("step", now, actor, f"{LABEL_VI[status]}" + (f" — bước {dossier.current_step}"
                                                                      if dossier.current_step else ""))


def fill_due_times(tasks: list[HumanTask], calendar: Callable[[], WorkingCalendar], now: datetime) -> None:
    """Open tasks without a due time but with a step budget (`motcua:workdays`) are due that many working days
    from now. `calendar` is asked for only when a task needs it (it may read the database)."""
    budgets = [(t, days) for t in tasks if t.due_at is None and t.status == "open"
               and (days := _workdays(t.properties.get("motcua:workdays"))) is not None]
    if budgets:
        working = calendar()
        for task, days in budgets:
            task.due_at = working.deadline(now, days)


def _workdays(value: str | None) -> float | None:
    try:
        days = float(value) if value is not None else None
    except ValueError:
        return None
    return days if days is not None and 0 < days <= 365 else None
