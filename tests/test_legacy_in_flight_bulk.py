"""The bulk writer of in-flight legacy dossiers (app/legacy/in_flight.py) writes exactly what a reception moved
on to the same step writes one by one (ReceptionService.receive_draft with `open_at`): the same rows in the
same tables, equal column by column once ids and codes are named by their order of appearance. It reads
nothing back, so this comparison is what keeps it honest when a listener or a column is added."""

import json
import re
from datetime import UTC, datetime

from sqlalchemy import func, select

from app.dossiers.codes import next_code
from app.engine.parsing import SourceFile
from app.errors import MotcuaError
from app.legacy.importer import ACTOR, SUBMIT
from app.legacy.in_flight import InFlight, write_in_flight
from app.legacy.rows import legacy_reference, reception_request
from app.processes.bulk_start import BulkStarter
from persistence.dossier_models import Dossier, DossierDocument, Procedure
from persistence.integration_models import OutboxMessage
from persistence.job_models import Job
from persistence.models import Base, Event, HumanTask, ProcessInstance, TaskCandidateGroup, Wait
from tests.conftest import shipped_diagrams
from tests.diagrams import HEADER, linear
from tests.onestop import install_catalogue, procedures, units

# What both paths take as "now", so times compare exactly; the real clock's, so timers are not already due.
NOW = datetime.now(UTC).replace(microsecond=0)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Numbering is the caller's (the importer numbers a whole batch at once), not the writer's. How many delta rows the
# dossier triggers write depends on the statements (one per statement on PostgreSQL); their sums are compared in
# tests/test_worklist_counts.py.
NOT_COMPARED_TABLES = {"dossier_sequences", "worklist_counts"}


def _with_timers(key: str) -> bytes:
    """Appraisal waits on a reminder timer and a message (boundary events), so the step has timer jobs and waits."""
    return (HEADER.format(key=key) + f'''<bpmn:message id="Msg" name="bo_sung_xong"/>
<bpmn:process id="{key}" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:userTask id="assign" name="Phân công" camunda:candidateGroups="division_head"><bpmn:extensionElements>
<camunda:properties><camunda:property name="motcua:step" value="assign"/></camunda:properties>
</bpmn:extensionElements></bpmn:userTask>
<bpmn:userTask id="appraisal" name="Thẩm định" camunda:candidateGroups="specialist,expert"><bpmn:extensionElements>
<camunda:properties><camunda:property name="motcua:step" value="appraisal"/>
<camunda:property name="motcua:workdays" value="5"/></camunda:properties></bpmn:extensionElements></bpmn:userTask>
<bpmn:boundaryEvent id="remind" attachedToRef="appraisal" cancelActivity="false"><bpmn:timerEventDefinition>
<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT48H</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
<bpmn:boundaryEvent id="supplemented" attachedToRef="appraisal" cancelActivity="false">
<bpmn:messageEventDefinition messageRef="Msg"/></bpmn:boundaryEvent>
<bpmn:userTask id="approval" name="Phê duyệt"><bpmn:extensionElements><camunda:properties>
<camunda:property name="motcua:step" value="approval"/></camunda:properties></bpmn:extensionElements></bpmn:userTask>
<bpmn:endEvent id="end"/><bpmn:endEvent id="end_remind"/><bpmn:endEvent id="end_supplemented"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="assign"/>
<bpmn:sequenceFlow id="f2" sourceRef="assign" targetRef="appraisal"/>
<bpmn:sequenceFlow id="f3" sourceRef="appraisal" targetRef="approval"/>
<bpmn:sequenceFlow id="f4" sourceRef="approval" targetRef="end"/>
<bpmn:sequenceFlow id="f5" sourceRef="remind" targetRef="end_remind"/>
<bpmn:sequenceFlow id="f6" sourceRef="supplemented" targetRef="end_supplemented"/>
</bpmn:process>
</bpmn:definitions>
''').encode()


def _numbering(key: str) -> bytes:
    """A script reads the dossier's code: this diagram can't share one engine run (a copy would hold the length of
    the template's stand-in for the code)."""
    return (HEADER.format(key=key) + f'''<bpmn:process id="{key}" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:scriptTask id="number" scriptFormat="python"><bpmn:script>do_dai_ma = len(dossier_code)</bpmn:script>
</bpmn:scriptTask>
<bpmn:userTask id="appraisal" name="Thẩm định"><bpmn:extensionElements><camunda:properties>
<camunda:property name="motcua:step" value="appraisal"/></camunda:properties></bpmn:extensionElements></bpmn:userTask>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="number"/>
<bpmn:sequenceFlow id="f2" sourceRef="number" targetRef="appraisal"/>
<bpmn:sequenceFlow id="f3" sourceRef="appraisal" targetRef="end"/>
</bpmn:process>
</bpmn:definitions>
''').encode()


def _cases(services, client):
    """(procedure, receiving unit, received at, step): department and commune diagrams, before and after the
    Ministry cutover, at the first, middle and last steps; one diagram whose step waits on a timer and a message."""
    department = [p for p in procedures(client, level="department")]
    plain = next(p for p in department if not p["mohCentralized"])
    moh = next(p for p in department if p["mohCentralized"])
    timed, numbered = [p for p in department if p["diagramKey"] not in (plain["diagramKey"], moh["diagramKey"])][:2]
    services.deployments.deploy([SourceFile("timed.bpmn", _with_timers(timed["diagramKey"]))], actor="test")
    services.deployments.deploy([SourceFile("numbered.bpmn", _numbering(numbered["diagramKey"]))], actor="test")
    commune = next(p for p in procedures(client, level="commune"))
    counter = next(u["code"] for u in units(client, "division") if "Một cửa" in u["name"])
    ward = next(u["code"] for u in units(client, "ward"))
    before, after = "2025-11-20T09:00:00+07:00", "2026-03-05T09:00:00+07:00"
    return ([(plain, counter, before, step) for step in ("assign", "appraisal", "approval", "issue", "return")]
            + [(moh, counter, before, "appraisal"), (moh, counter, before, "approval")]
            + [(commune, ward, after, step) for step in _steps(commune)]
            + [(timed, counter, before, step) for step in ("appraisal", "appraisal", "approval")]
            + [(numbered, counter, before, "appraisal")] * 2)


def _steps(procedure) -> list[str]:
    diagram = next(path for path in shipped_diagrams() if path.stem == procedure["diagramKey"])
    steps = set(re.findall(r'motcua:step" value="([a-z_]+)"', diagram.read_text(encoding="utf-8")))
    return sorted(steps - {"ministry"})


def _drafts(services, session, cases, calendar):
    drafts = []
    for index, (procedure, unit, received, step) in enumerate(cases):
        row = {"legacy_id": f"L-{index}", "source_system": "hai_duong", "procedure_code": procedure["code"],
               "receiving_unit": unit, "applicant_id_number": f"0302010{index:05d}", "applicant_name": "Lê Thị Cúc",
               "applicant_phone": "0912345678", "channel": "counter", "applicant_type": "citizen"}
        request = reception_request(row, session.get(Procedure, procedure["code"]), datetime.fromisoformat(received))
        draft = services.reception.draft(session, request, ACTOR, calendar=calendar)
        draft.now = draft.dossier.updated_at = NOW
        drafts.append(InFlight(draft, step, datetime(2026, 4, 30, 10, 0, tzinfo=UTC), legacy_reference(row)))
    return drafts


def _counts(services) -> dict[str, int]:
    with services.db.read() as session:
        return _counts_in(session)


def _counts_in(session) -> dict[str, int]:
    session.flush()
    return {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in after
            if after[name] != before[name] and name not in NOT_COMPARED_TABLES}


def _columns(row, *skip: str) -> dict:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in ("id", *skip)}


def _footprint(services, code: str, *, times: bool = True) -> dict:
    """Everything the dossier owns, in every table, with ids and its code replaced by their order of appearance
    (`times=False`: and every time, for commands run at two moments)."""
    with services.db.read() as session:
        dossier = session.get(Dossier, code)
        instance_id = dossier.process_instance_id
        instance = session.get(ProcessInstance, instance_id)
        model = services.deployments.model_of(session, instance.definition_id)
        workflow = services.instances.engine.load(model, instance.state)
        of_instance = [HumanTask.process_instance_id == instance_id]
        tasks = session.scalars(select(HumanTask).where(*of_instance).order_by(HumanTask.element_id)).all()
        found = {
            "dossier": _columns(dossier, "version"),  # counts writes: the one-by-one path inserts, then updates
            "documents": [_columns(d) for d in session.scalars(select(DossierDocument).where(
                DossierDocument.dossier_code == code).order_by(DossierDocument.id))],
            "instance": _columns(instance, "state"),
            "engine": [(t.task_spec.name, t.state, t.data) for t in workflow.get_tasks()],
            "tasks": [_columns(t) | {"groups": sorted(session.scalars(select(TaskCandidateGroup.group_name).where(
                TaskCandidateGroup.task_id == t.id)))} for t in tasks],
            "waits": [_columns(w) for w in session.scalars(select(Wait).where(
                Wait.process_instance_id == instance_id).order_by(Wait.element_id))],
            "events": [_columns(e) for e in session.scalars(select(Event).where(
                Event.process_instance_id == instance_id).order_by(Event.id))],
            # created_at / next_attempt_at: the database's clock on the one-by-one path
            "outbox": [_columns(m, "created_at", "next_attempt_at") for m in session.scalars(
                select(OutboxMessage).where(OutboxMessage.aggregate == code)
                .order_by(OutboxMessage.topic, OutboxMessage.sequence))],
            "jobs": [_columns(j) for j in session.scalars(select(Job).where(
                Job.process_instance_id == instance_id).order_by(Job.element_id))],
        }
    text = json.dumps(found, default=str, sort_keys=True, ensure_ascii=False).replace(code, "<code>")
    names: dict[str, str] = {}
    text = UUID.sub(lambda m: names.setdefault(m.group(0), f"<id {len(names)}>"), text)
    if not times:
        text = re.sub(r'"\d{4}-\d\d-\d\d[ T][0-9:.]+(\+00:00)?"|"\d{14}"|\d{10}\.\d+', '"<time>"', text)
    return json.loads(re.sub(r'"legacy": \{[^}]*\}', '"legacy": "<legacy>"', text))


def test_bulk_in_flight_writes_what_receptions_moved_on_one_by_one_write(services, client):
    install_catalogue(services)
    cases = _cases(services, client)
    assert len(cases) >= 9

    start = _counts(services)
    with services.instances.command() as session:
        calendar = services.reception.calendars.working_calendar(session)
        one_by_one = []
        for row in _drafts(services, session, cases, calendar):
            draft = row.draft
            draft.dossier.appointment_at, draft.dossier.result = row.appointment_at, row.result
            services.reception.receive_draft(session, draft, ACTOR, open_at=row.step, submit=SUBMIT)
            one_by_one.append(draft.dossier.code)
    middle = _counts(services)

    with services.instances.command() as session:
        calendar = services.reception.calendars.working_calendar(session)
        rows = _drafts(services, session, cases, calendar)
        for row in rows:
            row.draft.dossier.code = next_code(session, row.draft.competent.code, row.draft.dossier.received_at)
        answers = write_in_flight(services.reception, session, rows, BulkStarter(services.instances, calendar, NOW),
                                  ACTOR, SUBMIT)
    bulk = [row.draft.dossier.code for row in rows]
    end = _counts(services)

    assert [a["code"] for a in answers] == bulk
    assert _delta(middle, end) == _delta(start, middle)  # the same tables, the same number of rows
    assert _delta(start, middle)["outbox"] >= 2 * len(cases)  # received + step, at least, for each
    assert _delta(start, middle)["jobs"] == 2 and _delta(start, middle)["waits"] >= 4  # the timed appraisals
    for (procedure, _, _, step), old, new, answer in zip(cases, one_by_one, bulk, answers, strict=True):
        expected = _footprint(services, old)
        assert _footprint(services, new) == expected, (procedure["code"], step)
        assert answer == {"code": new, "status": expected["dossier"]["status"],
                          "step": expected["dossier"]["current_step"]}

    # Both go on alike: the copied engine state is as good as the one run for its own dossier.
    for old, new in zip(one_by_one, bulk, strict=True):
        outcomes = [_complete_open_task(services, code) for code in (old, new)]
        assert outcomes[0] == outcomes[1]
        assert _footprint(services, new, times=False) == _footprint(services, old, times=False)


def _complete_open_task(services, code: str) -> str:
    with services.db.read() as session:
        instance_id = session.get(Dossier, code).process_instance_id
        task = session.scalars(select(HumanTask).where(HumanTask.process_instance_id == instance_id,
                                                       HumanTask.status == "open")).first()
    if task is None:
        return "no open task"
    try:
        view = services.instances.complete_task(task.id, {"appraisal_note": "Đạt", "decision": "approve"}, "cv_1")
    except MotcuaError as exc:
        return exc.code
    return view.status


def test_a_step_the_diagram_never_stops_at_writes_nothing(services, client):
    install_catalogue(services)
    [case] = _cases(services, client)[:1]
    with services.instances.command() as session:
        calendar = services.reception.calendars.working_calendar(session)
        rows = _drafts(services, session, [case, (*case[:3], "no_such_step")], calendar)
        for row in rows:
            row.draft.dossier.code = next_code(session, row.draft.competent.code, row.draft.dossier.received_at)
        before = _counts_in(session)
        answers = write_in_flight(services.reception, session, rows, BulkStarter(services.instances, calendar, NOW),
                                  ACTOR, SUBMIT)
        assert _delta(before, _counts_in(session)) == {}
    assert isinstance(answers[0], dict)
    assert getattr(answers[1], "code", None) == "step_not_reached" and answers[1].field == "step"


def test_copies_share_one_engine_run_and_keep_every_other_value(services):
    """Two instances whose variables differ only in values the diagram never names: one engine run; a value
    that looks like an id stays as it was (only the run's own task ids are renewed); each copy holds its own
    values, of their own types, and fresh task ids."""
    services.deployments.deploy([SourceFile("linear.bpmn", linear("copied", ("a", "b")))], actor="test")
    reference = "0b5e1d2c-3f4a-4b6c-8d9e-0f1a2b3c4d5e"
    with services.instances.command() as session:
        definition = services.instances.definition(session, "copied")
        model = services.deployments.model_of(session, definition.id)
        starter = BulkStarter(services.instances, services.reception.calendars.working_calendar(session), NOW)
        runs = []
        engine_start = services.instances.engine.start
        services.instances.engine.start = lambda *a, **k: runs.append(1) or engine_start(*a, **k)
        try:
            started = [starter.start(definition, model, business_key=code, actor="import", open_at="b", submit={},
                                     variables={"dossier_code": code, "external_ref": reference, "fee": fee,
                                                "urgent": fee > 0, "extra": {"unit": code.lower()}})
                       for code, fee in (("MA-1", 0), ("MA-2", 150000))]
        finally:
            del services.instances.engine.start
        starter.insert(session, started)
    assert len(runs) == 1
    first, second = ([(t.element_id, t.id) for t in s.tasks] for s in started)
    assert [e for e, _ in first] == [e for e, _ in second] == ["b"] and first[0][1] != second[0][1]
    with services.db.read() as session:
        for (code, fee), instance in zip((("MA-1", 0), ("MA-2", 150000)), started, strict=True):
            row = session.get(ProcessInstance, instance.row["id"])
            expected = {"dossier_code": code, "external_ref": reference, "fee": fee, "urgent": fee > 0,
                        "extra": {"unit": code.lower()}}
            assert row.business_key == code and row.variables == expected
            workflow = services.instances.engine.load(model, row.state)
            holding = [t for t in workflow.get_tasks() if t.data]
            assert holding and all({k: t.data.get(k) for k in expected} == expected for t in holding)
            assert {str(t.id) for t in workflow.get_tasks()}.isdisjoint(
                str(t.id) for other in started if other is not instance
                for t in services.instances.engine.load(model, other.row["state"]).get_tasks())
    view = services.instances.complete_task(started[1].tasks[0].id, {}, "cv_1")
    assert view.status == "completed" and view.business_key == "MA-2"
