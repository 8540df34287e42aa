"""Competing commands on one instance, in the spirit of Camunda's Competing* tests: a threading barrier
releases both at once, one consistent outcome follows (a winner, a 409 for a lost race, never a 500, never a
half-applied change). Twenty completions of one task, concurrent messages and concurrent deployments of one
key are in test_concurrency.py; completion against the timer in test_timers.py."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from persistence.dossier_models import Dossier
from persistence.models import HumanTask, ProcessInstance
from tests.conftest import ADMIN_HEADERS
from tests.diagrams import HEADER
from tests.onestop import COUNTER_CLERK, install_catalogue, open_tasks, procedures, receive, reception_body, units
from tests.processes import half_advanced
from tests.test_api_processes import deploy, start
from tests.test_timers import events_of, jobs, worker_for


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together by a barrier; their results (or exceptions) in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except Exception as exc:  # surfaced by the assertions of the caller
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def post(server_url: str, path: str, body: dict, headers: dict | None = None) -> Callable[[], httpx.Response]:
    def call() -> httpx.Response:
        with httpx.Client(base_url=server_url, timeout=60, headers={**ADMIN_HEADERS, **(headers or {})}) as http:
            return http.post(path, json=body)
    return call


def parallel_join(key: str) -> bytes:
    """start -> split -> (a | b) -> join -> after -> end."""
    return (HEADER.format(key=key) + f'''<bpmn:process id="{key}" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:parallelGateway id="split"/>
<bpmn:userTask id="a" name="Nhánh A"/>
<bpmn:userTask id="b" name="Nhánh B"/>
<bpmn:parallelGateway id="join"/>
<bpmn:userTask id="after" name="Sau khi hợp nhánh"/>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
<bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="a"/>
<bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="b"/>
<bpmn:sequenceFlow id="f4" sourceRef="a" targetRef="join"/>
<bpmn:sequenceFlow id="f5" sourceRef="b" targetRef="join"/>
<bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="after"/>
<bpmn:sequenceFlow id="f7" sourceRef="after" targetRef="end"/>
</bpmn:process>
</bpmn:definitions>
''').encode()


def message_or_timer(key: str) -> bytes:
    """start -> task `waiting` with interrupting boundaries: message `ket_qua` -> after_message, timer PT1H ->
    after_timer. (The event-based gateway saying the same races in test_timer_gateways.py.)"""
    return (HEADER.format(key=key) + f'''<bpmn:message id="Msg" name="ket_qua"/>
<bpmn:process id="{key}" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:userTask id="waiting" name="Chờ kết quả"/>
<bpmn:boundaryEvent id="got_result" attachedToRef="waiting"><bpmn:messageEventDefinition messageRef="Msg"/>
</bpmn:boundaryEvent>
<bpmn:boundaryEvent id="too_late" attachedToRef="waiting"><bpmn:timerEventDefinition>
<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1H</bpmn:timeDuration>
</bpmn:timerEventDefinition></bpmn:boundaryEvent>
<bpmn:userTask id="after_message" name="Xử lý kết quả"/>
<bpmn:userTask id="after_timer" name="Đôn đốc"/>
<bpmn:endEvent id="end"/>
<bpmn:endEvent id="end_message"/>
<bpmn:endEvent id="end_timer"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="waiting"/>
<bpmn:sequenceFlow id="f2" sourceRef="waiting" targetRef="end"/>
<bpmn:sequenceFlow id="f4" sourceRef="got_result" targetRef="after_message"/>
<bpmn:sequenceFlow id="f5" sourceRef="too_late" targetRef="after_timer"/>
<bpmn:sequenceFlow id="f6" sourceRef="after_message" targetRef="end_message"/>
<bpmn:sequenceFlow id="f7" sourceRef="after_timer" targetRef="end_timer"/>
</bpmn:process>
</bpmn:definitions>
''').encode()


def open_elements(services, instance_id: str) -> list[str]:
    with services.db.read() as session:
        return sorted(session.scalars(select(HumanTask.element_id).where(
            HumanTask.process_instance_id == instance_id, HumanTask.status == "open")))


def test_parallel_branches_completed_at_once_join_exactly_once(client, server, services):
    deploy(client, ("p.bpmn", parallel_join("competing_join")))
    for _ in range(5):
        instance = start(client, "competing_join")
        tasks = {t["elementId"]: t["id"] for t in instance["openTasks"]}
        assert sorted(tasks) == ["a", "b"]
        answers = race(*(post(server.url, f"/api/v1/tasks/{tasks[e]}/complete", {"variables": {e: True}})
                         for e in ("a", "b")))
        codes = [a.status_code for a in answers]
        assert set(codes) <= {200, 409}, [a.text for a in answers]
        for element, answer in zip(("a", "b"), answers, strict=True):
            if answer.status_code == 409:  # a lost race leaves the task open: the caller completes it again
                client.post(f"/api/v1/tasks/{tasks[element]}/complete", json={"variables": {element: True}})
        assert open_elements(services, instance["id"]) == ["after"]  # the join fired once
        completions = events_of(services, instance["id"], "task.completed")
        assert sorted(e.element_id for e in completions) == ["a", "b"]
        variables = client.get(f"/api/v1/process-instances/{instance['id']}").json()["variables"]
        assert variables["a"] is True and variables["b"] is True  # neither branch's data was overwritten
    assert half_advanced(services, dossiers=False) == []


def test_message_correlation_racing_the_timer_takes_one_path(client, server, services):
    deploy(client, ("m.bpmn", message_or_timer("competing_wait")))
    started = [start(client, "competing_wait", businessKey=f"HS-WAIT-{i}") for i in range(8)]
    later = datetime.now(UTC) + timedelta(hours=2)
    worker = worker_for(services, batch_size=2, concurrency=2)

    def fire_timers() -> int:
        fired = 0
        while (result := worker.tick(later)).claimed:
            fired += result.done
        return fired

    def messages() -> list[int]:
        with httpx.Client(base_url=server.url, timeout=60, headers=ADMIN_HEADERS) as http:
            return [http.post("/api/v1/messages", json={"messageName": "ket_qua", "businessKey": i["businessKey"]}
                              ).status_code for i in started]

    _, answers = race(fire_timers, messages)
    assert not isinstance(answers, Exception), answers
    fire_timers()  # jobs released after a lost race are looked at again
    assert set(answers) <= {200, 404, 409}, answers
    for instance, answer in zip(started, answers, strict=True):
        fired = events_of(services, instance["id"], "timer.fired")
        received = events_of(services, instance["id"], "message.received")
        assert len(fired) + len(received) == 1, instance["id"]
        assert (answer == 200) == bool(received)
        assert open_elements(services, instance["id"]) == (["after_message"] if received else ["after_timer"])
    assert jobs(services) == []
    assert half_advanced(services, dossiers=False) == []


def test_completion_racing_withdrawal_has_one_consistent_outcome(client, server, services):
    install_catalogue(services)
    counter = next(u["code"] for u in units(client, "division") if "Một cửa" in u["name"])
    procedure = next(p for p in procedures(client, level="department") if not p["mohCentralized"])
    outcomes = set()
    for _ in range(6):
        dossier = receive(client, reception_body(procedure, counter))
        task = open_tasks(client, dossier)[0]
        completion, withdrawal = race(
            post(server.url, f"/api/v1/tasks/{task['id']}/complete", {"variables": {"appraisal_note": "Đạt"}}),
            post(server.url, f"/api/v1/dossiers/{dossier['code']}/actions/withdraw", {"reason": "Công dân rút hồ sơ"},
                 COUNTER_CLERK))
        assert completion.status_code in (200, 409), completion.text
        assert withdrawal.status_code in (200, 409), withdrawal.text
        assert 200 in (completion.status_code, withdrawal.status_code)
        outcomes.add((completion.status_code, withdrawal.status_code))
        with services.db.read() as session:
            row = session.get(Dossier, dossier["code"])
            instance = session.get(ProcessInstance, dossier["processInstanceId"])
            assert row is not None and instance is not None
            assert (row.status == "withdrawn") == (withdrawal.status_code == 200), row.status
            if withdrawal.status_code == 200:
                assert instance.status != "running"
        assert open_elements(services, dossier["processInstanceId"]) == [] or withdrawal.status_code == 409
        completed = [e for e in events_of(services, dossier["processInstanceId"], "task.completed")
                     if e.data.get("taskId") == task["id"]]
        assert len(completed) == (1 if completion.status_code == 200 else 0)
    assert half_advanced(services) == []
    print(f"\ncompletion/withdrawal outcomes seen: {sorted(outcomes)}")
