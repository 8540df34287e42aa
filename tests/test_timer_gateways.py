"""Timers the scheduler used to miss: the branches of an event-based gateway (each timer a job, each message a
correlatable wait, the first to happen wins) and cycles on boundary events (a job per occurrence until the
repetitions are used up). Both orders and a barrier-released race, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import httpx
import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import DurationTimerEventDefinition
from sqlalchemy import select

from app.engine.parsing import SourceFile, parse_files
from app.engine.runtime import WorkflowEngine
from app.engine.timer_events import BranchTimer
from app.jobs.worker import Worker, WorkerOptions
from persistence.models import ProcessInstance
from tests.conftest import ADMIN_HEADERS
from tests.diagrams import HEADER, linear
from tests.test_api_processes import complete, deploy, start
from tests.test_competing import open_elements, race
from tests.test_timers import events_of, jobs, worker_for


def gateway(key: str, timers: dict[str, str] | None = None, message: str = "ket_qua") -> bytes:
    """start -> event-based gateway -> message `message` -> after_message | each timer -> after_<timer id>."""
    timers = timers if timers is not None else {"too_late": "PT1H"}
    branches = ['<bpmn:intermediateCatchEvent id="got_result"><bpmn:messageEventDefinition messageRef="Msg"/>'
                '</bpmn:intermediateCatchEvent>\n<bpmn:userTask id="after_message" name="Xử lý kết quả"/>\n'
                '<bpmn:sequenceFlow id="fm1" sourceRef="gw" targetRef="got_result"/>\n'
                '<bpmn:sequenceFlow id="fm2" sourceRef="got_result" targetRef="after_message"/>\n'
                '<bpmn:sequenceFlow id="fm3" sourceRef="after_message" targetRef="end"/>']
    for timer, expression in timers.items():
        branches.append(f'''<bpmn:intermediateCatchEvent id="{timer}"><bpmn:timerEventDefinition>
<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{expression}</bpmn:timeDuration>
</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:userTask id="after_{timer}" name="Sau {timer}"/>
<bpmn:sequenceFlow id="f_{timer}1" sourceRef="gw" targetRef="{timer}"/>
<bpmn:sequenceFlow id="f_{timer}2" sourceRef="{timer}" targetRef="after_{timer}"/>
<bpmn:sequenceFlow id="f_{timer}3" sourceRef="after_{timer}" targetRef="end"/>''')
    body = "\n".join(branches)
    return (HEADER.format(key=key) + f'''<bpmn:message id="Msg" name="{message}"/>
<bpmn:process id="{key}" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:eventBasedGateway id="gw"/>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw"/>
{body}
</bpmn:process>
</bpmn:definitions>
''').encode()


def cycle_boundary(key: str, cycle: str, interrupting: bool = False) -> bytes:
    """A user task with a boundary timer cycle that sends a reminder (a user task) at each occurrence. The timer
    definition has an id of its own, as the MIWG diagrams' do: problems still name the event."""
    return (HEADER.format(key=key) + f'''<bpmn:process id="{key}" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:userTask id="appraise" name="Thẩm định"/>
<bpmn:boundaryEvent id="remind" attachedToRef="appraise" cancelActivity="{str(interrupting).lower()}">
<bpmn:timerEventDefinition id="remind_def"><bpmn:timeCycle xsi:type="bpmn:tFormalExpression">{cycle}</bpmn:timeCycle>
</bpmn:timerEventDefinition></bpmn:boundaryEvent>
<bpmn:userTask id="reminder" name="Nhắc việc"/>
<bpmn:endEvent id="end"/>
<bpmn:endEvent id="end_reminder"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="appraise"/>
<bpmn:sequenceFlow id="f2" sourceRef="appraise" targetRef="end"/>
<bpmn:sequenceFlow id="f3" sourceRef="remind" targetRef="reminder"/>
<bpmn:sequenceFlow id="f4" sourceRef="reminder" targetRef="end_reminder"/>
</bpmn:process>
</bpmn:definitions>
''').encode()


def cycle_elsewhere(key: str, tag: str) -> bytes:
    """A cycle on an intermediate catch event or an event subprocess's start: nothing the engine repeats as drawn."""
    timer = ('<bpmn:timerEventDefinition><bpmn:timeCycle xsi:type="bpmn:tFormalExpression">R3/PT1H'
             '</bpmn:timeCycle></bpmn:timerEventDefinition>')
    middle = f'<bpmn:intermediateCatchEvent id="wait">{timer}</bpmn:intermediateCatchEvent>' \
        if tag == "intermediateCatchEvent" else '<bpmn:userTask id="wait"/>'
    if tag == "eventSubProcess":  # repeated instances of an event subprocess are not scheduled
        middle += (f'<bpmn:subProcess id="sub" triggeredByEvent="true"><bpmn:startEvent id="sub_tick" '
                   f'isInterrupting="false">{timer}</bpmn:startEvent><bpmn:endEvent id="sub_end"/>'
                   '<bpmn:sequenceFlow id="s1" sourceRef="sub_tick" targetRef="sub_end"/></bpmn:subProcess>')
    return (HEADER.format(key=key) + f'''<bpmn:process id="{key}" isExecutable="true">
<bpmn:startEvent id="start"/>
{middle}
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
<bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end"/>
</bpmn:process>
</bpmn:definitions>
''').encode()


def message(client: httpx.Client, business_key: str, name: str = "ket_qua") -> httpx.Response:
    return client.post("/api/v1/messages", json={"messageName": name, "businessKey": business_key,
                                                 "variables": {"ket_luan": "đạt"}})


def view(client: httpx.Client, instance_id: str) -> dict:
    return client.get(f"/api/v1/process-instances/{instance_id}").json()


def waits(instance: dict) -> list[tuple[str, str]]:
    return sorted((w["type"], w["elementId"]) for w in instance["waitingFor"])


def fire_all(services, at: datetime) -> int:
    worker, done = worker_for(services), 0
    while (result := worker.tick(at)).claimed:
        done += result.done
    return done


# --- event-based gateway --------------------------------------------------------------------------------

def test_gateway_branches_are_a_message_wait_and_a_timer_job(client, services):
    deploy(client, ("g.bpmn", gateway("gw_waits")))
    before = datetime.now(UTC)
    instance = start(client, "gw_waits", businessKey="HS-GW-1")
    assert waits(instance) == [("message", "got_result"), ("timer", "too_late")]
    timer = next(w for w in instance["waitingFor"] if w["type"] == "timer")
    due = datetime.fromisoformat(timer["dueAt"])
    assert before + timedelta(hours=1) <= due <= datetime.now(UTC) + timedelta(hours=1)
    [job] = jobs(services)
    assert (job.element_id, job.due_at, job.status) == ("too_late", due, "pending")


def test_gateway_message_first_takes_its_branch_and_the_timer_job_goes(client, services):
    deploy(client, ("g.bpmn", gateway("gw_message")))
    instance = start(client, "gw_message", businessKey="HS-GW-2")
    answer = message(client, "HS-GW-2")
    assert answer.status_code == 200, answer.text
    assert [t["elementId"] for t in answer.json()["openTasks"]] == ["after_message"]
    assert answer.json()["waitingFor"] == [] and jobs(services) == []
    assert answer.json()["variables"]["ket_luan"] == "đạt"
    [received] = events_of(services, instance["id"], "message.received")
    assert received.element_id == "got_result"
    assert fire_all(services, datetime.now(UTC) + timedelta(days=2)) == 0
    assert message(client, "HS-GW-2").json()["code"] == "no_waiting_instance"


def test_gateway_timer_first_takes_its_branch_and_the_message_is_no_longer_awaited(client, services):
    deploy(client, ("g.bpmn", gateway("gw_timer")))
    instance = start(client, "gw_timer", businessKey="HS-GW-3")
    worker = worker_for(services)
    assert worker.tick().claimed == 0  # not due yet
    assert fire_all(services, jobs(services)[0].due_at + timedelta(seconds=1)) == 1
    after = view(client, instance["id"])
    assert [t["elementId"] for t in after["openTasks"]] == ["after_too_late"] and after["waitingFor"] == []
    [fired] = events_of(services, instance["id"], "timer.fired")
    assert fired.element_id == "too_late"
    late = message(client, "HS-GW-3")
    assert late.status_code == 404 and late.json()["code"] == "no_waiting_instance"
    assert jobs(services) == []


def test_each_timer_branch_has_its_own_due_time_and_the_earliest_wins(client, services):
    # the later timer is drawn first: a shared due time would make both fire at the later one
    deploy(client, ("g.bpmn", gateway("gw_two", {"deadline": "P2D", "reminder": "PT2H"})))
    before = datetime.now(UTC)
    instance = start(client, "gw_two", businessKey="HS-GW-4")
    due = {w["elementId"]: datetime.fromisoformat(w["dueAt"]) for w in instance["waitingFor"] if w["dueAt"]}
    assert before + timedelta(days=2) <= due["deadline"] <= datetime.now(UTC) + timedelta(days=2)
    assert before + timedelta(hours=2) <= due["reminder"] <= datetime.now(UTC) + timedelta(hours=2)
    assert {(j.element_id, j.due_at) for j in jobs(services)} == set(due.items())
    assert fire_all(services, due["reminder"] + timedelta(seconds=1)) == 1
    after = view(client, instance["id"])
    assert [t["elementId"] for t in after["openTasks"]] == ["after_reminder"] and after["waitingFor"] == []
    assert jobs(services) == []


def test_gateway_message_racing_the_timer_takes_one_branch(client, server, services):
    deploy(client, ("g.bpmn", gateway("gw_race")))
    started = [start(client, "gw_race", businessKey=f"HS-GW-RACE-{i}") for i in range(8)]
    later = datetime.now(UTC) + timedelta(hours=2)

    def messages() -> list[int]:
        with httpx.Client(base_url=server.url, timeout=60, headers=ADMIN_HEADERS) as http:
            return [message(http, i["businessKey"]).status_code for i in started]

    _, answers = race(lambda: fire_all(services, later), messages)
    assert not isinstance(answers, Exception), answers
    fire_all(services, later)  # jobs released after a lost race are looked at again
    assert set(answers) <= {200, 404, 409}, answers
    for instance, answer in zip(started, answers, strict=True):
        fired = events_of(services, instance["id"], "timer.fired")
        received = events_of(services, instance["id"], "message.received")
        assert len(fired) + len(received) == 1, instance["id"]
        assert (answer == 200) == bool(received)
        assert open_elements(services, instance["id"]) == (["after_message"] if received else ["after_too_late"])
        assert view(client, instance["id"])["waitingFor"] == []
    assert jobs(services) == []


# --- cycles ---------------------------------------------------------------------------------------------

def test_non_interrupting_cycle_fires_each_repetition_then_stops(client, services):
    deploy(client, ("c.bpmn", cycle_boundary("cycle_r3", "R3/PT1H")))
    instance = start(client, "cycle_r3")
    dues = []
    for occurrence in range(3):
        [job] = jobs(services)
        assert job.element_id == "remind"
        dues.append(job.due_at)
        assert fire_all(services, job.due_at + timedelta(seconds=1)) == 1
        assert open_elements(services, instance["id"]) == ["appraise"] + ["reminder"] * (occurrence + 1)
    # each occurrence one interval after the previous one's due time
    assert [b - a for a, b in pairwise(dues)] == [timedelta(hours=1)] * 2
    assert jobs(services) == [] and view(client, instance["id"])["waitingFor"] == []
    assert fire_all(services, dues[-1] + timedelta(days=30)) == 0
    assert len(events_of(services, instance["id"], "timer.fired")) == 3
    appraise = next(t for t in view(client, instance["id"])["openTasks"] if t["elementId"] == "appraise")
    complete(client, appraise["id"])
    for task in view(client, instance["id"])["openTasks"]:
        complete(client, task["id"])
    assert view(client, instance["id"])["status"] == "completed"


def test_unbounded_cycle_keeps_a_job_until_the_activity_ends(client, services):
    deploy(client, ("c.bpmn", cycle_boundary("cycle_forever", "R/P1D")))
    instance = start(client, "cycle_forever")
    for _ in range(2):
        [job] = jobs(services)
        assert fire_all(services, job.due_at + timedelta(seconds=1)) == 1
    [job] = jobs(services)
    assert open_elements(services, instance["id"]) == ["appraise", "reminder", "reminder"]
    appraise = next(t for t in view(client, instance["id"])["openTasks"] if t["elementId"] == "appraise")
    complete(client, appraise["id"])
    assert jobs(services) == [] and view(client, instance["id"])["waitingFor"] == []
    assert open_elements(services, instance["id"]) == ["reminder", "reminder"]


def test_interrupting_cycle_fires_once_and_ends_the_activity(client, services):
    deploy(client, ("c.bpmn", cycle_boundary("cycle_interrupt", "R3/PT1H", interrupting=True)))
    before = datetime.now(UTC)
    instance = start(client, "cycle_interrupt")
    [job] = jobs(services)
    assert before + timedelta(hours=1) <= job.due_at <= datetime.now(UTC) + timedelta(hours=1)
    assert fire_all(services, job.due_at + timedelta(seconds=1)) == 1
    assert open_elements(services, instance["id"]) == ["reminder"]
    assert jobs(services) == [] and view(client, instance["id"])["waitingFor"] == []


def test_cycle_from_a_start_date(client, services):
    deploy(client, ("c.bpmn", cycle_boundary("cycle_dated", "R2/2030-01-02T08:00:00/P1D")))
    start(client, "cycle_dated")
    [job] = jobs(services)
    assert job.due_at == datetime(2030, 1, 2, 1, 0, tzinfo=UTC)  # 08:00 Asia/Ho_Chi_Minh
    fire_all(services, job.due_at)
    [job] = jobs(services)
    assert job.due_at == datetime(2030, 1, 3, 1, 0, tzinfo=UTC)


# --- deploy-time refusal ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("diagram", "element"), [
    (cycle_boundary("bad_cycle", "PT1H"), "remind"),
    (cycle_boundary("bad_cycle", "R0/PT1H"), "remind"),
    (cycle_boundary("bad_cycle", "R/PT10S"), "remind"),
    (cycle_boundary("bad_cycle", "R3/workdays(1)"), "remind"),
    (cycle_boundary("bad_cycle", "R/P1D").replace(b"timeCycle", b"timeDuration"), "remind"),
    (cycle_elsewhere("bad_cycle", "intermediateCatchEvent"), "wait"),
    (cycle_elsewhere("bad_cycle", "eventSubProcess"), "sub_tick"),
    (gateway("bad_cycle", {"late": "PT1H"}).replace(b"timeDuration", b"timeCycle")
     .replace(b">PT1H<", b">R/PT1H<"), "late"),
])
def test_a_timer_the_engine_cannot_schedule_is_refused_at_deploy(client, diagram, element):
    response = client.post("/api/v1/deployments", files=[("file", ("t.bpmn", diagram, "application/xml"))])
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "invalid_timer" and problem["elementId"] == element, problem
    assert all(d["key"] != "bad_cycle" for d in client.get("/api/v1/process-definitions").json())


# --- timer start events -----------------------------------------------------------------------------------

def timer_start(key: str, tag: str, value: str) -> bytes:
    """timer start event -> user task `work` -> end."""
    return (HEADER.format(key=key) + f'''<bpmn:process id="{key}" isExecutable="true">
<bpmn:startEvent id="tick"><bpmn:timerEventDefinition>
<bpmn:{tag} xsi:type="bpmn:tFormalExpression">{value}</bpmn:{tag}></bpmn:timerEventDefinition></bpmn:startEvent>
<bpmn:userTask id="work" name="Rà soát định kỳ"/>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="tick" targetRef="work"/>
<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
</bpmn:process>
</bpmn:definitions>
''').encode()


def instances_of(services, key: str) -> list[ProcessInstance]:
    with services.db.read() as session:
        return list(session.scalars(select(ProcessInstance).where(ProcessInstance.key == key)
                                    .order_by(ProcessInstance.created_at)))


def test_timer_start_event_starts_one_instance_at_its_date(client, services):
    deploy(client, ("s.bpmn", timer_start("start_dated", "timeDate", "2030-01-02T08:00:00")))
    [job] = jobs(services)
    assert (job.kind, job.element_id, job.process_instance_id) == ("timer_start", "tick", None)
    assert job.due_at == datetime(2030, 1, 2, 1, 0, tzinfo=UTC)
    assert fire_all(services, datetime.now(UTC)) == 0 and instances_of(services, "start_dated") == []
    assert fire_all(services, job.due_at + timedelta(seconds=1)) == 1
    [instance] = instances_of(services, "start_dated")
    assert open_elements(services, instance.id) == ["work"] and instance.status == "running"
    assert [e.element_id for e in events_of(services, instance.id, "timer.fired")] == ["tick"]
    assert jobs(services) == []
    assert fire_all(services, job.due_at + timedelta(days=400)) == 0
    assert len(instances_of(services, "start_dated")) == 1


def test_timer_start_cycle_starts_an_instance_per_repetition(client, services):
    before = datetime.now(UTC)
    deploy(client, ("s.bpmn", timer_start("start_cycle", "timeCycle", "R3/PT1H")))
    [job] = jobs(services)
    assert before + timedelta(hours=1) <= job.due_at <= datetime.now(UTC) + timedelta(hours=1)
    dues = []
    while found := jobs(services):
        dues.append(found[0].due_at)
        assert fire_all(services, found[0].due_at + timedelta(seconds=1)) == 1
    assert [b - a for a, b in pairwise(dues)] == [timedelta(hours=1)] * 2
    assert len(instances_of(services, "start_cycle")) == 3


def test_a_new_version_replaces_the_older_versions_timer_start(client, services):
    deploy(client, ("s.bpmn", timer_start("start_versions", "timeDate", "2030-01-02T08:00:00")))
    second = deploy(client, ("s.bpmn", timer_start("start_versions", "timeDate", "2030-02-02T08:00:00")))
    [job] = jobs(services)
    assert job.payload["definitionId"] == second["processes"][0]["id"]
    assert fire_all(services, datetime(2031, 1, 1, tzinfo=UTC)) == 1
    [instance] = instances_of(services, "start_versions")
    assert instance.definition_version == 2
    deploy(client, ("s.bpmn", timer_start("start_versions", "timeDuration", "PT1H")))
    before = datetime.now(UTC)
    deploy(client, ("s.bpmn", timer_start("start_versions", "timeDuration", "PT2H")))
    [job] = jobs(services)  # one duration after the deployment of the version that owns it
    assert before + timedelta(hours=2) <= job.due_at <= datetime.now(UTC) + timedelta(hours=2)
    deploy(client, ("s.bpmn", linear("start_versions")))
    assert jobs(services) == []  # the newest version has no timer start: nothing starts by itself any more


def test_two_workers_on_one_due_timer_start_make_one_instance(client, services):
    deploy(client, ("s.bpmn", timer_start("start_race", "timeDate", "2030-01-02T08:00:00")))
    later = datetime(2030, 1, 3, tzinfo=UTC)
    dead = Worker(services.db, list(services.worker.handlers.values()), options=WorkerOptions(lease_seconds=30),
                  worker_id="dead")
    [claimed] = dead.claim(later)  # then "killed" before running it; its lease runs out
    first, second = (worker_for(services, lease_seconds=30) for _ in range(2))
    second.worker_id = "second"
    after_lease = later + timedelta(seconds=31)
    results = race(lambda: first.tick(after_lease), lambda: second.tick(after_lease),
                   lambda: dead.run_job(claimed, later))
    assert not any(isinstance(r, Exception) for r in results), results
    assert len(instances_of(services, "start_race")) == 1
    assert jobs(services) == []


@pytest.mark.parametrize("value", ["workdays(2)", "value(han)"])
def test_a_timer_start_needing_instance_data_or_the_calendar_is_refused(client, value):
    diagram = timer_start("bad_start", "timeDate", value)
    response = client.post("/api/v1/deployments", files=[("file", ("s.bpmn", diagram, "application/xml"))])
    assert response.status_code == 422 and response.json()["code"] == "invalid_timer", response.text
    assert response.json()["elementId"] == "tick"


def test_a_gateway_stored_before_branch_timers_still_gets_its_timer_scheduled():
    """Specs are stored per version: a gateway deployed earlier keeps SpiffWorkflow's own duration timer."""
    [model] = parse_files([SourceFile("g.bpmn", gateway("gw_old"))])[0].processes
    multiple = model.spec.task_specs["gw"].event_definition
    multiple.event_definitions = [
        DurationTimerEventDefinition(d.name, d.expression) if isinstance(d, BranchTimer) else d
        for d in multiple.event_definitions]
    engine = WorkflowEngine()
    before = datetime.now(UTC)
    workflow = engine.start(model, {})
    [timer] = [w for w in engine.snapshot(model, workflow).waits if w.kind == "timer"]
    assert timer.element_id == "too_late" and timer.due_at is not None
    assert before + timedelta(hours=1) - timedelta(seconds=5) <= timer.due_at <= datetime.now(UTC) + timedelta(hours=1)
    assert engine.fire_timers(workflow, "too_late")
    assert [t.element_id for t in engine.snapshot(model, workflow).ready_tasks] == ["after_too_late"]
