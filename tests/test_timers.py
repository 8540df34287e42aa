"""Working-day timers in diagrams, the timer jobs they leave, the worker that fires them, and incidents."""

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.calendar.workdays import WorkingCalendar
from app.engine import timers
from app.jobs.worker import Worker, WorkerOptions
from persistence.job_models import Job
from persistence.models import Event, ProcessInstance
from tests.diagrams import HEADER
from tests.test_api_processes import complete, deploy, start

ROOT = Path(__file__).resolve().parent.parent


def timer_then_task(key: str, expression: str, after: str = "") -> bytes:
    """start -> intermediate timer -> [script] -> user task -> end."""
    script = (f'<bpmn:scriptTask id="script" scriptFormat="python"><bpmn:script>{after}</bpmn:script>'
              '</bpmn:scriptTask>') if after else ""
    first = "script" if after else "after"
    return (HEADER.format(key=key) + f'''<bpmn:process id="{key}" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:intermediateCatchEvent id="wait_timer"><bpmn:timerEventDefinition>
<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{expression}</bpmn:timeDuration>
</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
{script}
<bpmn:userTask id="after" name="Sau hẹn giờ"/>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait_timer"/>
<bpmn:sequenceFlow id="f2" sourceRef="wait_timer" targetRef="{first}"/>
{'<bpmn:sequenceFlow id="f2b" sourceRef="script" targetRef="after"/>' if after else ""}
<bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
</bpmn:process>
</bpmn:definitions>
''').encode()


def task_with_boundary(key: str, expression: str, due: str = "workdays(3)") -> bytes:
    """A user task with an interrupting boundary timer that escalates to the head of unit."""
    return (HEADER.format(key=key) + f'''<bpmn:process id="{key}" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:userTask id="appraise" name="Thẩm định" camunda:dueDate="{due}"/>
<bpmn:boundaryEvent id="late" attachedToRef="appraise"><bpmn:timerEventDefinition>
<bpmn:timeDuration>{expression}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
<bpmn:userTask id="escalate" name="Lãnh đạo xử lý hồ sơ chậm"/>
<bpmn:endEvent id="end"/>
<bpmn:endEvent id="end_late"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="appraise"/>
<bpmn:sequenceFlow id="f2" sourceRef="appraise" targetRef="end"/>
<bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="escalate"/>
<bpmn:sequenceFlow id="f4" sourceRef="escalate" targetRef="end_late"/>
</bpmn:process>
</bpmn:definitions>
''').encode()


def worker_for(services, **options) -> Worker:
    return Worker(services.db, list(services.worker.handlers.values()), options=WorkerOptions(**options),
                  worker_id="test-worker")


def jobs(services) -> list[Job]:
    with services.db.read() as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


def events_of(services, instance_id: str, type_: str) -> list[Event]:
    with services.db.read() as session:
        return list(session.scalars(select(Event).where(Event.process_instance_id == instance_id,
                                                        Event.type == type_)))


# --- expressions ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "kind", "value"), [
    ("workdays(2)", "workdays", "2"),
    (" workdays( 0.5 ) ", "workdays", "0.5"),
    ('"workhours(4)"', "workhours", "4"),
    ("workdays(so_ngay)", "workdays", "so_ngay"),
    ("PT4H", "duration", "PT4H"),
    ('"P3D"', "duration", "P3D"),
    ("'pt30m'", "duration", "PT30M"),
    ("2026-01-02T08:00:00", "date", "2026-01-02T08:00:00"),
    ('"2026-01-02T08:00:00Z"', "date", "2026-01-02T08:00:00Z"),
])
def test_accepted_timer_expressions(text, kind, value):
    assert timers.parse(text) == timers.TimerExpression(kind, value)


@pytest.mark.parametrize("text", [
    "", "workdays(-1)", "workdays(0)", "workdays(100000)", "workhours(1e9)", "workdays(1+1)", "workday(2)",
    "PT4X", "P", "P99999Y", "2026-02-30", "2026-13-01T00:00:00", "tomorrow", "__import__('os')",
])
def test_refused_timer_expressions(text):
    with pytest.raises(timers.InvalidTimer):
        timers.parse(text)


def test_due_times_follow_the_calendar():
    calendar = WorkingCalendar()
    friday_4pm = datetime(2026, 4, 24, 9, 0, tzinfo=UTC)  # Fri 24 Apr 2026 16:00 +07
    # Giỗ Tổ (Sun 26 Apr) is observed Mon 27 Apr: the 1st working day after Friday is Tue 28 Apr
    assert timers.parse("workdays(1)").due(friday_4pm, calendar) == datetime(2026, 4, 28, 10, 0, tzinfo=UTC)
    # 1 working hour from 16:00 Friday: 16:00–17:00 Friday → 17:00 +07
    assert timers.parse("workhours(1)").due(friday_4pm, calendar) == datetime(2026, 4, 24, 10, 0, tzinfo=UTC)
    # 4 working hours: 1 h Friday, then Tue 28 Apr 07:30 + 3 h = 10:30 +07
    assert timers.parse("workhours(4)").due(friday_4pm, calendar) == datetime(2026, 4, 28, 3, 30, tzinfo=UTC)
    # 8 working hours: 1 h Friday, 4 h Tuesday morning, 3 h from 13:30 → 16:30 +07
    assert timers.parse("workhours(8)").due(friday_4pm, calendar) == datetime(2026, 4, 28, 9, 30, tzinfo=UTC)
    assert timers.parse("PT4H").due(friday_4pm, calendar) == friday_4pm + timedelta(hours=4)
    assert timers.parse("2026-05-04T08:00:00").due(friday_4pm, calendar) == datetime(2026, 5, 4, 1, 0, tzinfo=UTC)
    assert timers.parse("workdays(n)").due(friday_4pm, calendar, {"n": 2}) == datetime(2026, 4, 29, 10, 0,
                                                                                        tzinfo=UTC)
    with pytest.raises(timers.InvalidTimer):
        timers.parse("workdays(n)").due(friday_4pm, calendar, {"n": -3})


# --- deploy-time refusal ----------------------------------------------------------------------------

@pytest.mark.parametrize(("diagram", "element"), [
    (timer_then_task("bad_timer", "workdays(-2)"), "wait_timer"),
    (timer_then_task("bad_timer", "ba ngày"), "wait_timer"),
    (timer_then_task("bad_timer", "PT4X"), "wait_timer"),
    (task_with_boundary("bad_timer", "workdays(99999)"), "late"),
    (task_with_boundary("bad_timer", "workdays(2)", due="next monday"), "appraise"),
])
def test_bad_timer_expression_is_refused_at_deploy_and_nothing_is_stored(client, diagram, element):
    response = client.post("/api/v1/deployments", files=[("file", ("t.bpmn", diagram, "application/xml"))])
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "invalid_timer" and problem["elementId"] == element
    assert client.get("/api/v1/process-definitions").json() == [] or \
        all(d["key"] != "bad_timer" for d in client.get("/api/v1/process-definitions").json())


# --- waits, jobs and firing ------------------------------------------------------------------------

def test_working_day_timer_and_due_date_become_absolute_due_times(client, services):
    deploy(client, ("b.bpmn", task_with_boundary("boundary_wd", "workdays(2)")))
    before = datetime.now(UTC)
    instance = start(client, "boundary_wd")
    after = datetime.now(UTC)
    calendar = WorkingCalendar()
    [wait] = instance["waitingFor"]
    due = datetime.fromisoformat(wait["dueAt"])
    assert wait["elementId"] == "late"
    assert due in {calendar.deadline(before, 2), calendar.deadline(after, 2)}
    [task] = instance["openTasks"]
    assert datetime.fromisoformat(task["dueAt"]) in {calendar.deadline(before, 3), calendar.deadline(after, 3)}
    [job] = jobs(services)
    assert (job.kind, job.process_instance_id, job.element_id, job.status) == ("timer", instance["id"], "late",
                                                                                "pending")
    assert job.due_at == due


def test_boundary_timer_fires_through_the_worker(client, services):
    deploy(client, ("b.bpmn", task_with_boundary("boundary_fire", "workdays(2)")))
    instance = start(client, "boundary_fire")
    worker = worker_for(services)
    assert worker.tick().claimed == 0  # not due yet
    due = jobs(services)[0].due_at
    result = worker.tick(due + timedelta(seconds=1))
    assert (result.claimed, result.done) == (1, 1)
    view = client.get(f"/api/v1/process-instances/{instance['id']}").json()
    assert [t["elementId"] for t in view["openTasks"]] == ["escalate"]
    assert len(events_of(services, instance["id"], "timer.fired")) == 1
    assert jobs(services) == []
    assert worker.tick(due + timedelta(days=1)).claimed == 0


def test_completing_the_task_first_removes_the_timer_job(client, services):
    deploy(client, ("b.bpmn", task_with_boundary("boundary_done", "PT1H")))
    instance = start(client, "boundary_done")
    assert len(jobs(services)) == 1
    complete(client, instance["openTasks"][0]["id"])
    assert jobs(services) == []
    assert worker_for(services).tick(datetime.now(UTC) + timedelta(days=2)).claimed == 0


def test_intermediate_timer_fires_and_the_instance_moves_on(client, services):
    deploy(client, ("t.bpmn", timer_then_task("timer_mid", "workhours(4)")))
    instance = start(client, "timer_mid")
    assert instance["waitingFor"][0]["type"] == "timer"
    result = worker_for(services).tick(datetime.now(UTC) + timedelta(days=10))
    assert result.done == 1
    view = client.get(f"/api/v1/process-instances/{instance['id']}").json()
    assert [t["elementId"] for t in view["openTasks"]] == ["after"] and view["waitingFor"] == []


def test_suspended_instance_postpones_its_timer(client, services):
    deploy(client, ("t.bpmn", timer_then_task("timer_susp", "PT1H")))
    instance = start(client, "timer_susp")
    with services.instances.command() as session:
        services.instances.set_suspended_in(session, instance["id"], True, reason="kiểm tra", actor="t")
    later = datetime.now(UTC) + timedelta(hours=2)
    result = worker_for(services).tick(later)
    assert result.outcomes and set(result.outcomes.values()) == {"postponed"}
    [job] = jobs(services)
    assert job.status == "pending" and job.attempts == 0 and job.next_attempt_at > later


def test_failing_timer_is_retried_with_backoff_then_becomes_an_incident_and_can_be_retried(client, services):
    deploy(client, ("t.bpmn", timer_then_task("timer_fail", "PT1H", after="x = 1 / 0")))
    instance = start(client, "timer_fail")
    worker = worker_for(services, max_attempts=3, backoff_seconds=60)
    t0 = datetime.now(UTC) + timedelta(hours=2)
    assert worker.tick(t0).outcomes == {jobs(services)[0].id: "retry"}
    [job] = jobs(services)
    assert job.attempts == 1 and job.next_attempt_at == t0 + timedelta(seconds=60) and "ZeroDivision" in \
        job.last_error
    assert worker.tick(t0 + timedelta(seconds=59)).claimed == 0  # backing off
    assert set(worker.tick(t0 + timedelta(seconds=60)).outcomes.values()) == {"retry"}
    assert jobs(services)[0].next_attempt_at == t0 + timedelta(seconds=180)  # 60 s, then 120 s
    assert set(worker.tick(t0 + timedelta(seconds=180)).outcomes.values()) == {"incident"}
    assert worker.tick(t0 + timedelta(days=30)).claimed == 0  # an incident waits for a person

    [incident] = client.get("/api/v1/incidents").json()
    assert incident["processInstanceId"] == instance["id"] and incident["elementId"] == "wait_timer"
    assert incident["attempts"] == 3 and incident["status"] == "incident" and "ZeroDivision" in incident["lastError"]
    assert len(events_of(services, instance["id"], "job.incident")) == 1
    view = client.get(f"/api/v1/process-instances/{instance['id']}").json()
    assert view["waitingFor"][0]["elementId"] == "wait_timer"  # every failed try rolled back

    retried = client.post(f"/api/v1/incidents/{incident['id']}/retry", headers={"X-Actor": "quan_tri"})
    assert retried.status_code == 200 and retried.json()["status"] == "pending" and retried.json()["attempts"] == 0
    again = client.post(f"/api/v1/incidents/{incident['id']}/retry")
    assert again.status_code == 409 and again.json()["code"]
    missing = client.post("/api/v1/incidents/987654/retry")
    assert missing.status_code == 404 and missing.json()["field"] == "id"
    assert client.get("/api/v1/incidents").json() == []
    assert worker.tick(datetime.now(UTC) + timedelta(seconds=1)).claimed == 1


def test_a_dead_workers_claim_is_taken_over_after_its_lease(client, services):
    deploy(client, ("t.bpmn", timer_then_task("timer_lease", "PT1H")))
    instance = start(client, "timer_lease")
    later = datetime.now(UTC) + timedelta(hours=2)
    dead = Worker(services.db, list(services.worker.handlers.values()), options=WorkerOptions(lease_seconds=30),
                  worker_id="dead")
    assert len(dead.claim(later)) == 1  # claimed, then "killed" before running it
    other = worker_for(services, lease_seconds=30)
    assert other.tick(later + timedelta(seconds=10)).claimed == 0
    assert other.tick(later + timedelta(seconds=31)).done == 1
    assert dead.run_job(jobs(services)[0].id if jobs(services) else -1, later) == "gone"
    assert len(events_of(services, instance["id"], "timer.fired")) == 1
    with services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 1


def budget_task(key: str, budget: str) -> bytes:
    return (HEADER.format(key=key) + f'''<bpmn:process id="{key}" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:userTask id="review" name="Xem xét"><bpmn:extensionElements><camunda:properties>
<camunda:property name="motcua:workdays" value="{budget}"/></camunda:properties></bpmn:extensionElements>
</bpmn:userTask>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
</bpmn:process>
</bpmn:definitions>
''').encode()


def test_step_budget_in_working_days_gives_every_task_row_its_due_time(client):
    deploy(client, ("w.bpmn", budget_task("budget_ok", "1.5")))
    before = datetime.now(UTC)
    [task] = start(client, "budget_ok")["openTasks"]
    after = datetime.now(UTC)
    calendar = WorkingCalendar()
    assert datetime.fromisoformat(task["dueAt"]) in {calendar.deadline(before, 1.5), calendar.deadline(after, 1.5)}
    bad = client.post("/api/v1/deployments", files=[("file", ("w.bpmn", budget_task("budget_bad", "-1"),
                                                              "application/xml"))])
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_timer" and bad.json()["elementId"] == "review"


def test_task_completion_racing_the_timer_has_one_winner_per_instance(client, services):
    """People complete the step while the worker fires its boundary timer: each instance takes exactly one."""
    deploy(client, ("b.bpmn", task_with_boundary("boundary_race", "PT1H")))
    started = [start(client, "boundary_race") for _ in range(12)]
    later = datetime.now(UTC) + timedelta(hours=2)
    worker = worker_for(services, batch_size=4, concurrency=2)
    answers: list[int] = []

    def people() -> None:
        for instance in started:
            response = client.post(f"/api/v1/tasks/{instance['openTasks'][0]['id']}/complete",
                                   json={"variables": {}})
            answers.append(response.status_code)

    thread = threading.Thread(target=people)
    thread.start()
    while worker.tick(later).claimed:
        pass
    thread.join()
    while worker.tick(later).claimed:  # jobs released after a lost race are looked at again
        pass
    assert set(answers) <= {200, 409}
    for instance in started:
        fired = events_of(services, instance["id"], "timer.fired")
        completed = [e for e in events_of(services, instance["id"], "task.completed") if e.element_id == "appraise"]
        assert len(fired) + len(completed) == 1, instance["id"]
    assert answers.count(200) == sum(
        1 for i in started if events_of(services, i["id"], "task.completed"))
    assert jobs(services) == []


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("post", "/api/v1/calendar/overrides", {"date": "2026-02-30", "kind": "day-off", "reason": "Ngày không có"},
     "date"),
    ("post", "/api/v1/calendar/overrides", {"date": "31/12/2026", "kind": "day-off", "reason": "Sai định dạng"},
     "date"),
    ("get", "/api/v1/calendar/add-workdays?start=2026-01-01&days=-5", None, "days"),
    ("get", "/api/v1/calendar/add-workdays?start=2026-01-01&days=99999", None, "days"),
    ("get", "/api/v1/calendar/add-workdays?start=2026-13-01&days=1", None, "start"),
    ("post", "/api/v1/incidents/mot/retry", None, "incident_id"),
    ("get", "/api/v1/incidents?limit=0", None, "limit"),
])
def test_bad_calendar_and_incident_input_is_422_and_stores_nothing(client, method, path, body, field):
    response = client.request(method.upper(), path, json=body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_error" and field in (problem.get("field") or "")
    assert client.get("/api/v1/calendar/overrides").json() == []


def test_motcua_worker_once_fires_due_timers_on_sqlite(client, services, tmp_path):
    if services.db.dialect != "sqlite":
        pytest.skip("the single-worker SQLite path; PostgreSQL has its own multi-process test")
    deploy(client, ("t.bpmn", timer_then_task("timer_cli", "PT1H")))
    instance = start(client, "timer_cli")
    with services.db.transaction() as session:  # due now: the CLI uses the real clock
        for job in session.scalars(select(Job)):
            job.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
    env = {**os.environ, "MOTCUA_DATABASE_URL": services.settings.database_url}
    done = subprocess.run([sys.executable, "-m", "app.cli", "worker", "--once"], env=env, capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "claimed=1 done=1" in done.stdout
    assert len(events_of(services, instance["id"], "timer.fired")) == 1
