"""In-flight legacy dossiers of one import batch, written with one INSERT per table.

Each dossier gets what a reception moved on to its step would write (ReceptionService.receive_draft with
`open_at`): the same engine run (app/processes/bulk_start.py: one run shared by dossiers the diagram can't
tell apart), task rows, waits, history, dossier status (tracking.follow), outbox messages (each listener's
`outgoing`) and timer jobs. Only nothing is read back: the rows are new, so there is no earlier task, wait,
job or outbox sequence to look for. tests/test_legacy_in_flight_bulk.py compares every table with receptions
moved on one by one.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.dossiers.reception import Draft, ReceptionService
from app.dossiers.tracking import fill_due_times, follow
from app.engine.model import ProcessModel
from app.errors import MotcuaError
from app.integrations.outbox import Outgoing, insert_for_new_dossiers
from app.jobs.timers import timer_jobs_of_new_instance
from app.observability.metrics import count_transition
from app.processes.bulk_start import BulkStarter, Started
from persistence import repositories as repo
from persistence.dossier_models import Dossier
from persistence.models import Event, ProcessDefinition


@dataclass
class InFlight:
    """A checked and numbered dossier to start at `step`."""

    draft: Draft
    step: str
    appointment_at: datetime | None
    result: dict[str, Any]


def write_in_flight(reception: ReceptionService, session: Session, rows: list[InFlight], starter: BulkStarter,
                    actor: str, submit: dict[str, Any]) -> list[dict[str, Any] | MotcuaError]:
    """Per row, its answer (code, status, step) or the engine's refusal. Nothing is written when any row is
    refused: the caller drops those rows and comes again. The drafts' clock (`Draft.now`) is the starter's."""
    if not rows:
        return []
    instances, changes = reception.instances, reception.tracker.changes
    now, calendar = starter.now, starter.calendar
    if any(row.draft.now != now for row in rows):
        raise ValueError("the drafts are written on the starter's clock")
    definitions: dict[str, tuple[ProcessDefinition, ProcessModel]] = {}
    answers: list[dict[str, Any] | MotcuaError] = []
    started: list[Started] = []
    messages: list[tuple[str, Outgoing]] = []
    for row in rows:
        draft, dossier = row.draft, row.draft.dossier
        key = draft.procedure.diagram_key
        if key not in definitions:
            definition = instances.definition(session, key)
            definitions[key] = (definition, instances.deployments.model_of(session, definition.id))
        definition, model = definitions[key]
        try:
            instance = starter.start(definition, model, business_key=dossier.code, variables=draft.variables(),
                                     actor=actor, open_at=row.step, submit=submit)
        except MotcuaError as exc:
            answers.append(exc)
            continue
        dossier.process_instance_id = instance.row["id"]
        if row.appointment_at:
            dossier.appointment_at = row.appointment_at
        dossier.result = row.result
        repo.with_defaults(dossier)
        for document in draft.documents:
            document.dossier_code = dossier.code
            repo.with_defaults(document)
        instance.events.append(Event(process_instance_id=dossier.process_instance_id, type="dossier.received",
                                     actor=actor, at=now, data=draft.received_event()))
        _announce(messages, changes.outgoing_for_new(dossier, draft.received_change(actor), draft.documents,
                                                     draft.procedure), dossier)
        change = follow(dossier, instance.row["status"], instance.tasks, instance.waits, now)
        if change is not None:
            _announce(messages, changes.outgoing_for_new(dossier, change, draft.documents, draft.procedure), dossier)
        fill_due_times(instance.tasks, lambda: calendar, now)
        started.append(instance)
        answers.append({"code": dossier.code, "status": dossier.status, "step": dossier.current_step})
    if any(isinstance(answer, MotcuaError) for answer in answers) or not started:
        return answers
    starter.insert(session, started)
    repo.insert_new(session, [row.draft.dossier for row in rows], [d for row in rows for d in row.draft.documents])
    insert_for_new_dossiers(session, messages, now)
    for instance in started:
        session.add_all(timer_jobs_of_new_instance(instance.row["id"], instance.waits, instance.row["created_at"]))
        count_transition(session, instance.row["status"])
    return answers


def _announce(messages: list[tuple[str, Outgoing]], outgoing: list[Outgoing], dossier: Dossier) -> None:
    messages.extend((dossier.code, message) for message in outgoing)
