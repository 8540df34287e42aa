"""Suspend, resume, terminate and move a token back, through real HTTP on each database, races included."""

import threading
from pathlib import Path

import httpx
import pytest
from lxml import etree

from tests import layout
from tests.conftest import ADMIN_HEADERS
from tests.test_api_processes import complete, deploy, start

ADMIN = {"X-Actor": "quan_tri"}


def op(client: httpx.Client, instance_id: str, action: str, body: dict | None = None, expect: int = 200,
       headers: dict | None = None) -> dict:
    response = client.post(f"/api/v1/process-instances/{instance_id}/{action}", json=body,
                           headers=ADMIN if headers is None else headers)
    assert response.status_code == expect, response.text
    return response.json()


def race_posts(server, posts: dict[str, tuple[str, dict]]) -> dict[str, tuple[int, object]]:
    """POST each (url, body) from its own thread and connection, released together by a barrier:
    name → (status, JSON answer)."""
    barrier = threading.Barrier(len(posts))
    results: dict[str, tuple[int, object]] = {}

    def call(name: str, url: str, body: dict) -> None:
        with httpx.Client(base_url=server.url, timeout=30, headers=ADMIN_HEADERS) as http:
            barrier.wait()
            response = http.post(url, json=body, headers=ADMIN)
            results[name] = (response.status_code, response.json())

    threads = [threading.Thread(target=call, args=(name, url, body)) for name, (url, body) in posts.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def history(client: httpx.Client, instance_id: str) -> list[dict]:
    return client.get(f"/api/v1/process-instances/{instance_id}/history").json()


def started(client: httpx.Client, key: str) -> dict:
    deploy(client, (f"{key}.bpmn", layout.row(key)))
    return start(client, key)


def test_suspended_instance_cannot_move_until_resumed(client):
    instance = started(client, "suspendable")
    task_id = instance["openTasks"][0]["id"]
    suspended = op(client, instance["id"], "suspend", {"reason": "chờ bổ sung hồ sơ"})
    assert suspended["status"] == "suspended"
    assert [t["id"] for t in suspended["openTasks"]] == [task_id]  # tasks stay, frozen

    refused = complete(client, task_id, expect=409)
    assert refused["code"] == "conflict"
    assert client.get(f"/api/v1/tasks/{task_id}").json()["status"] == "open"
    assert op(client, instance["id"], "suspend", expect=409)["code"] == "conflict"

    assert op(client, instance["id"], "resume", {"reason": "đã bổ sung"})["status"] == "running"
    assert op(client, instance["id"], "resume", expect=409)["code"] == "conflict"
    assert complete(client, task_id)["openTasks"][0]["elementId"] == "b"

    events = [(e["type"], e["actor"], e["data"].get("reason")) for e in history(client, instance["id"])
              if e["type"] in ("instance.suspended", "instance.running")]
    assert events == [("instance.suspended", "quan_tri", "chờ bổ sung hồ sơ"),
                      ("instance.running", "quan_tri", "đã bổ sung")]


def test_terminate_cancels_open_tasks_and_only_once(client):
    instance = started(client, "terminable")
    task_id = instance["openTasks"][0]["id"]
    ended = op(client, instance["id"], "terminate", {"reason": "công dân rút hồ sơ"})
    assert ended["status"] == "terminated" and ended["endedAt"] and ended["openTasks"] == []
    assert client.get(f"/api/v1/tasks/{task_id}").json()["status"] == "cancelled"
    assert op(client, instance["id"], "terminate", {"reason": "lần nữa"}, expect=409)["code"] == "conflict"
    assert op(client, instance["id"], "resume", expect=409)["code"] == "conflict"
    complete(client, task_id, expect=409)
    event = [e for e in history(client, instance["id"]) if e["type"] == "instance.terminated"]
    assert [(e["actor"], e["data"]["reason"]) for e in event] == [("quan_tri", "công dân rút hồ sơ")]


def test_terminate_of_a_finished_instance_is_409(client):
    deploy(client, ("one.bpmn", layout.row("finishes", tasks=("a",))))
    instance = start(client, "finishes")
    done = complete(client, instance["openTasks"][0]["id"])
    assert done["status"] == "completed"
    assert op(client, instance["id"], "terminate", {"reason": "muộn"}, expect=409)["code"] == "conflict"
    assert op(client, instance["id"], "suspend", expect=409)["code"] == "conflict"


def test_bad_ids_and_bodies(client):
    for action, body in (("suspend", None), ("resume", None), ("terminate", {"reason": "x"}),
                         ("move-token", {"toElementId": "a"})):
        problem = op(client, "no-such-instance", action, body, expect=404)
        assert problem["code"] == "not_found", action
    instance = started(client, "bodies")
    assert op(client, instance["id"], "terminate", {}, expect=422)["code"] == "validation_error"
    assert op(client, instance["id"], "terminate", {"reason": ""}, expect=422)["field"] == "reason"
    assert op(client, instance["id"], "move-token", {"elementId": "a"}, expect=422)["code"] == "validation_error"
    assert client.get(f"/api/v1/process-instances/{instance['id']}").json()["status"] == "running"


def test_move_token_back_to_an_earlier_task(client):
    instance = started(client, "rework")
    first_a = instance["openTasks"][0]["id"]
    instance = complete(client, first_a, {"y_kien": "đạt"})
    instance = complete(client, instance["openTasks"][0]["id"])
    c_task = instance["openTasks"][0]
    assert c_task["elementId"] == "c"

    moved = op(client, instance["id"], "move-token", {"toElementId": "a", "fromTaskId": c_task["id"],
                                                       "reason": "thẩm định sai, làm lại"})
    assert [t["elementId"] for t in moved["openTasks"]] == ["a"]
    assert client.get(f"/api/v1/tasks/{c_task['id']}").json()["status"] == "cancelled"
    reopened = client.get(f"/api/v1/tasks/{moved['openTasks'][0]['id']}").json()
    assert reopened["status"] == "open" and reopened["completedAt"] is None
    moved_events = [e for e in history(client, instance["id"]) if e["type"] == "instance.token_moved"]
    assert [(e["elementId"], e["actor"], e["data"]["reason"]) for e in moved_events] == [
        ("a", "quan_tri", "thẩm định sai, làm lại")]

    # The instance then runs on normally from the earlier task.
    again = complete(client, moved["openTasks"][0]["id"])
    again = complete(client, again["openTasks"][0]["id"])
    again = complete(client, again["openTasks"][0]["id"])
    assert again["status"] == "completed"


def test_move_token_refusals(client, client_as):
    instance = started(client, "rework_refusals")
    a_task = instance["openTasks"][0]["id"]
    instance = complete(client, a_task)
    iid = instance["id"]
    assert op(client, iid, "move-token", {"toElementId": "c"}, expect=422)["code"] == "element_not_reached"
    unknown = op(client, iid, "move-token", {"toElementId": "khong_co"}, expect=422)
    assert (unknown["code"], unknown["field"]) == ("unknown_element", "toElementId")
    assert op(client, iid, "move-token", {"toElementId": "a", "fromTaskId": a_task}, expect=404)["field"] \
        == "fromTaskId"
    auditor = client_as("auditor")
    denied = auditor.post(f"/api/v1/process-instances/{iid}/move-token", json={"toElementId": "a"})
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"  # system admins only
    op(client, iid, "suspend")
    assert op(client, iid, "move-token", {"toElementId": "a"}, expect=409)["code"] == "conflict"
    op(client, iid, "resume")
    assert [e for e in history(client, iid) if e["type"] == "instance.token_moved"] == []
    assert client.get(f"/api/v1/process-instances/{iid}").json()["openTasks"][0]["elementId"] == "b"


@pytest.mark.parametrize(("action", "status", "event"), [("suspend", "suspended", "instance.suspended"),
                                                      ("terminate", "terminated", "instance.terminated")])
def test_operation_racing_complete_has_one_consistent_outcome(client, server, action, status, event):
    key = f"race_{action}"
    deploy(client, ("race.bpmn", layout.row(key)))
    for _ in range(6):
        instance = start(client, key)
        task_id = instance["openTasks"][0]["id"]
        results = {name: status for name, (status, _) in race_posts(server, {
            "complete": (f"/api/v1/tasks/{task_id}/complete", {"variables": {}}),
            action: (f"/api/v1/process-instances/{instance['id']}/{action}", {"reason": "đua"}),
        }).items()}
        assert set(results.values()) <= {200, 409} and 200 in results.values(), results
        final = client.get(f"/api/v1/process-instances/{instance['id']}").json()
        task = client.get(f"/api/v1/tasks/{task_id}").json()
        events = [e["type"] for e in history(client, instance["id"])]
        # Whatever succeeded is fully visible; whatever lost left no trace.
        assert (task["status"] == "completed") == (results["complete"] == 200) == ("task.completed" in events)
        assert (final["status"] == status) == (results[action] == 200) == (event in events)
        if results[action] != 200:
            assert final["openTasks"][0]["elementId"] == "b"
        elif action == "terminate":
            assert final["openTasks"] == []
        else:
            assert [t["elementId"] for t in final["openTasks"]] == ["b" if results["complete"] == 200 else "a"]
        assert final["revision"] == 1 + sum(code == 200 for code in results.values())


def test_move_token_back_over_a_gateway_drops_the_message_wait(client):
    path = Path(__file__).resolve().parent.parent / "workflows" / "bpmn" / "reference_procedure.bpmn"
    deploy(client, (path.name, path.read_bytes()))
    instance = start(client, "reference_procedure")
    for answers in ({}, {}, {"approved": True, "note": "đạt"}, {}):
        instance = complete(client, instance["openTasks"][0]["id"], answers)
    assert instance["openTasks"] == [] and [w["elementId"] for w in instance["waitingFor"]] == ["moh_result"]

    moved = op(client, instance["id"], "move-token", {"toElementId": "department_appraisal"})
    assert [t["elementId"] for t in moved["openTasks"]] == ["department_appraisal"]
    assert moved["waitingFor"] == []  # the branch after the reset task is gone, its message wait too
    svg = etree.fromstring(client.get(f"/api/v1/process-instances/{instance['id']}/diagram.svg").content)
    states = {g.get("data-element-id"): g.get("data-state") for g in svg.iter("{*}g")}
    assert (states["department_appraisal"], states["department_approval"], states["moh_result"]) == (
        "active", "pending", "pending")
    assert states["commune_review"] == "completed"

    rejected = complete(client, moved["openTasks"][0]["id"], {"approved": False, "note": "thiếu giấy tờ"})
    assert [t["elementId"] for t in rejected["openTasks"]] == ["return_result"]
