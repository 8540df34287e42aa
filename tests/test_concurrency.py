"""Races through real HTTP: one winner, everyone else 409, one completion in history."""

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests import diagrams
from tests.conftest import ADMIN_HEADERS
from tests.test_api_processes import deploy, start

THREADS = 20


def _race(server_url: str, calls: list[tuple[str, dict]]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(calls))

    def call(item: tuple[str, dict]) -> httpx.Response:
        path, body = item
        with httpx.Client(base_url=server_url, timeout=60, headers=ADMIN_HEADERS) as http:
            barrier.wait()
            return http.post(path, json=body)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(call, calls))


def test_twenty_completions_of_one_task(client, server):
    deploy(client, ("a.bpmn", diagrams.linear("race", tasks=("a", "b"))))
    instance = start(client, "race")
    task_id = instance["openTasks"][0]["id"]
    responses = _race(server.url, [(f"/api/v1/tasks/{task_id}/complete", {"variables": {"who": i}})
                                   for i in range(THREADS)])
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * (THREADS - 1), [r.text for r in responses if r.status_code not in (200, 409)]
    assert all(r.json()["code"] == "conflict" for r in responses if r.status_code == 409)
    winner = next(r.json() for r in responses if r.status_code == 200)

    history = client.get(f"/api/v1/process-instances/{instance['id']}/history").json()
    completions = [h for h in history if h["type"] == "task.completed"]
    assert len(completions) == 1
    assert completions[0]["data"]["variables"]["who"] == winner["variables"]["who"]
    now = client.get(f"/api/v1/process-instances/{instance['id']}").json()
    assert now["revision"] == winner["revision"]
    assert [t["elementId"] for t in now["openTasks"]] == ["b"]
    assert len(client.get("/api/v1/tasks", params={"processInstanceId": instance["id"]}).json()) == 1


def test_concurrent_messages_to_one_instance_are_delivered_once(client, server):
    deploy(client, ("m.bpmn", diagrams.with_message("race_msg", "ket_qua")))
    instance = start(client, "race_msg", businessKey="HS-RACE")
    responses = _race(server.url, [("/api/v1/messages", {"messageName": "ket_qua", "businessKey": "HS-RACE",
                                                         "variables": {"n": i}}) for i in range(10)])
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) == 1 and set(codes) <= {200, 404, 409}, [r.text for r in responses]
    history = client.get(f"/api/v1/process-instances/{instance['id']}/history").json()
    assert [h["type"] for h in history].count("message.received") == 1


def test_concurrent_deployments_of_one_key_get_distinct_versions(client, server):
    files = [diagrams.linear("race_deploy", tasks=tuple(f"t{j}" for j in range(i + 1))) for i in range(6)]
    barrier = threading.Barrier(len(files))

    def post(content: bytes) -> httpx.Response:
        with httpx.Client(base_url=server.url, timeout=60, headers=ADMIN_HEADERS) as http:
            barrier.wait()
            return http.post("/api/v1/deployments", files=[("file", ("d.bpmn", content, "application/xml"))])

    with ThreadPoolExecutor(max_workers=len(files)) as pool:
        responses = list(pool.map(post, files))
    assert [r.status_code for r in responses] == [201] * len(files), [r.text for r in responses]
    versions = sorted(d["version"] for d in client.get("/api/v1/process-definitions",
                                                       params={"key": "race_deploy"}).json())
    assert versions == list(range(1, len(files) + 1))
