"""Version diffs and instance migration through real HTTP on each database."""

import itertools
import time

import httpx

from tests import diagrams, layout
from tests.test_api_processes import complete, deploy
from tests.test_instance_operations import history, op, race_posts

ADMIN = {"X-Actor": "quan_tri"}


def two_versions(client: httpx.Client, key: str) -> tuple[str, str]:
    """v1: a → b → c; v2: a → c → d, with c renamed and b gone."""
    v1 = deploy(client, (f"{key}.bpmn", layout.row(key, tasks=("a", "b", "c"))))["processes"][0]["id"]
    v2 = deploy(client, (f"{key}.bpmn", layout.row(key, tasks=("a", "c", "d"), names={"c": "Thẩm định lại"})))
    return v1, v2["processes"][0]["id"]


def by_id(items: list[dict]) -> dict[str, dict]:
    return {i["elementId"]: i for i in items}


def migrate(client: httpx.Client, action: str, ids: list[str], target: str, expect: int = 200) -> dict:
    response = client.post(f"/api/v1/migrations/{action}", json={"instanceIds": ids, "targetDefinitionId": target},
                           headers=ADMIN)
    assert response.status_code == expect, response.text
    return response.json()


def test_diff_names_added_removed_and_changed_elements(client):
    v1, v2 = two_versions(client, "diffed")
    diff = client.get(f"/api/v1/process-definitions/{v1}/diff/{v2}").json()
    assert (diff["source"]["version"], diff["target"]["version"]) == (1, 2)
    removed, added, changed = by_id(diff["removed"]), by_id(diff["added"]), by_id(diff["changed"])
    assert removed["b"] == {"elementId": "b", "type": "userTask", "name": "Bước b", "changes": []}
    assert added["d"]["type"] == "userTask"
    assert {"flow_a_b", "flow_b_c", "flow_c_end"} <= set(removed) and removed["flow_a_b"]["type"] == "sequenceFlow"
    assert {"flow_a_c", "flow_c_d", "flow_d_end"} <= set(added)
    assert "name" in changed["c"]["changes"] and "incoming" in changed["c"]["changes"]
    assert changed["a"]["changes"] == ["outgoing"]
    assert "start" not in changed  # unchanged elements are not listed
    assert changed["end"]["changes"] == ["incoming"]

    same = client.get(f"/api/v1/process-definitions/{v1}/diff/{v1}").json()
    assert (same["added"], same["removed"], same["changed"]) == ([], [], [])
    missing = client.get(f"/api/v1/process-definitions/{v1}/diff/khong-co")
    assert (missing.status_code, missing.json()["field"]) == (404, "otherId")


def test_plan_says_who_can_move_and_why_not_without_changing_anything(client):
    v1, v2 = two_versions(client, "planned")
    at_a = _start_on(client, v1)
    at_b = _start_on(client, v1)
    at_b = complete(client, at_b["openTasks"][0]["id"])
    finished = _start_on(client, v1)
    op(client, finished["id"], "terminate", {"reason": "rút hồ sơ"})

    plan = migrate(client, "plan", [at_a["id"], at_b["id"], finished["id"], "khong-co"], v2)
    assert plan["dryRun"] is True and plan["target"]["version"] == 2
    outcome = {o["instanceId"]: o for o in plan["instances"]}
    assert outcome[at_a["id"]]["canMigrate"] is True and outcome[at_a["id"]]["activeElements"] == ["a"]
    assert [(p["code"], p["elementId"]) for p in outcome[at_b["id"]]["problems"]] == [
        ("active_element_removed", "b")]
    assert [p["code"] for p in outcome[finished["id"]]["problems"]] == ["instance_finished"]
    assert [p["code"] for p in outcome["khong-co"]["problems"]] == ["not_found"]
    assert not any(o["migrated"] for o in plan["instances"])
    after = client.get(f"/api/v1/process-instances/{at_a['id']}").json()
    assert (after["definitionId"], after["version"], after["revision"]) == (v1, 1, at_a["revision"])


def test_execute_moves_each_instance_in_its_own_transaction(client):
    v1, v2 = two_versions(client, "migrated")
    movable = _start_on(client, v1)
    stuck = _start_on(client, v1)
    stuck = complete(client, stuck["openTasks"][0]["id"])
    suspended = _start_on(client, v1)
    op(client, suspended["id"], "suspend", {"reason": "chờ"})

    report = migrate(client, "execute", [movable["id"], stuck["id"], suspended["id"]], v2)
    outcome = {o["instanceId"]: o for o in report["instances"]}
    assert outcome[movable["id"]]["migrated"] and outcome[suspended["id"]]["migrated"]
    assert not outcome[stuck["id"]]["migrated"]
    assert outcome[stuck["id"]]["problems"][0]["code"] == "active_element_removed"

    moved = client.get(f"/api/v1/process-instances/{movable['id']}").json()
    assert (moved["definitionId"], moved["version"], moved["status"]) == (v2, 2, "running")
    assert moved["openTasks"][0]["id"] == movable["openTasks"][0]["id"]  # the open task survives
    event = [e for e in history(client, movable["id"]) if e["type"] == "instance.migrated"]
    assert [(e["actor"], e["data"]["fromVersion"], e["data"]["toVersion"]) for e in event] == [("quan_tri", 1, 2)]
    # It now follows the new version: a → c (renamed) → d.
    after_a = complete(client, moved["openTasks"][0]["id"])
    assert [(t["elementId"], t["name"]) for t in after_a["openTasks"]] == [("c", "Thẩm định lại")]
    after_c = complete(client, after_a["openTasks"][0]["id"])
    assert after_c["openTasks"][0]["elementId"] == "d"
    assert complete(client, after_c["openTasks"][0]["id"])["status"] == "completed"

    kept = client.get(f"/api/v1/process-instances/{stuck['id']}").json()
    assert (kept["definitionId"], kept["revision"]) == (v1, stuck["revision"])
    assert not [e for e in history(client, stuck["id"]) if e["type"] == "instance.migrated"]
    still_suspended = client.get(f"/api/v1/process-instances/{suspended['id']}").json()
    assert (still_suspended["status"], still_suspended["version"]) == ("suspended", 2)

    again = migrate(client, "execute", [movable["id"]], v2)
    assert again["instances"][0]["problems"][0]["code"] == "same_version"


def test_history_through_a_removed_step_blocks_migration(client):
    v1, v2 = two_versions(client, "history_blocks")
    instance = _start_on(client, v1)
    instance = complete(client, instance["openTasks"][0]["id"])
    instance = complete(client, instance["openTasks"][0]["id"])  # passed b, now at c
    plan = migrate(client, "plan", [instance["id"]], v2)
    assert [(p["code"], p["elementId"]) for p in plan["instances"][0]["problems"]] == [
        ("history_element_removed", "b")]


def test_migration_refuses_another_process_and_unknown_targets(client):
    v1, _v2 = two_versions(client, "first_process")
    other = deploy(client, ("o.bpmn", layout.row("other_process")))["processes"][0]["id"]
    instance = _start_on(client, v1)
    plan = migrate(client, "plan", [instance["id"]], other)
    assert plan["instances"][0]["problems"][0]["code"] == "different_process"
    missing = migrate(client, "plan", [instance["id"]], "khong-co", expect=404)
    assert missing["field"] == "targetDefinitionId"
    empty = migrate(client, "execute", [], other, expect=422)
    assert (empty["code"], empty["field"]) == ("validation_error", "instanceIds")


def test_migration_racing_a_task_completion_never_overwrites(client, server):
    v1, v2 = two_versions(client, "migration_race")
    for _ in range(4):
        instance = _start_on(client, v1)
        task_id = instance["openTasks"][0]["id"]
        results = race_posts(server, {
            "complete": (f"/api/v1/tasks/{task_id}/complete", {}),
            "migrate": ("/api/v1/migrations/execute", {"instanceIds": [instance["id"]], "targetDefinitionId": v2}),
        })
        completed = results["complete"][0] == 200
        migrated = results["migrate"][1]["instances"][0]["migrated"]
        final = client.get(f"/api/v1/process-instances/{instance['id']}").json()
        events = [e["type"] for e in history(client, instance["id"])]
        assert ("task.completed" in events) == completed and ("instance.migrated" in events) == migrated
        assert final["definitionId"] == (v2 if migrated else v1)
        assert final["revision"] == 1 + completed + migrated
        if completed and migrated:
            # Migrated first at a, then completed on v2: the new path goes to c.
            assert final["openTasks"][0]["elementId"] == "c"
        elif completed:
            assert final["openTasks"][0]["elementId"] == "b"


def _start_on(client: httpx.Client, definition_id: str) -> dict:
    response = client.post(f"/api/v1/process-definitions/{definition_id}/start", json={})
    assert response.status_code == 201, response.text
    return response.json()


def test_an_instance_waiting_for_a_message_keeps_waiting_after_migration(client):
    v1 = deploy(client, ("m.bpmn", diagrams.with_message("waits_then_moves")))["processes"][0]["id"]
    changed = diagrams.with_message("waits_then_moves").replace(
        b'name="Sau khi c\xc3\xb3 k\xe1\xba\xbft qu\xe1\xba\xa3"', 'name="Xử lý kết quả (v2)"'.encode())
    assert changed != diagrams.with_message("waits_then_moves")
    v2 = deploy(client, ("m.bpmn", changed))["processes"][0]["id"]
    instance = _start_on(client, v1)
    assert [w["elementId"] for w in instance["waitingFor"]] == ["wait_msg"]

    report = migrate(client, "execute", [instance["id"]], v2)
    assert report["instances"][0]["migrated"], report
    moved = client.get(f"/api/v1/process-instances/{instance['id']}").json()
    assert [(w["elementId"], w["name"]) for w in moved["waitingFor"]] == [("wait_msg", "ket_qua")]
    response = client.post("/api/v1/messages", json={"messageName": "ket_qua", "processInstanceId": instance["id"]})
    assert response.status_code == 200, response.text
    assert [t["name"] for t in response.json()["openTasks"]] == ["Xử lý kết quả (v2)"]


def _with_subprocess(tasks: tuple[str, ...]) -> bytes:
    """start → embedded subprocess (the tasks in a row) → after → end."""
    seq = ["s0", *tasks, "s9"]
    inner = "".join(f'<bpmn:userTask id="{t}" name="Bước {t}"/>' for t in tasks) + "".join(
        f'<bpmn:sequenceFlow id="g_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>' for a, b in itertools.pairwise(seq))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
            'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="x">'
            '<bpmn:process id="with_sub" isExecutable="true"><bpmn:startEvent id="start"/>'
            f'<bpmn:subProcess id="sub"><bpmn:startEvent id="s0"/>{inner}<bpmn:endEvent id="s9"/></bpmn:subProcess>'
            '<bpmn:userTask id="after"/><bpmn:endEvent id="end"/>'
            '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sub"/>'
            '<bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="after"/>'
            '<bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>'
            '</bpmn:process></bpmn:definitions>').encode()


def test_a_token_inside_a_subprocess_migrates_and_follows_the_new_inner_path(client):
    v1 = deploy(client, ("s.bpmn", _with_subprocess(("x",))))["processes"][0]["id"]
    v2 = deploy(client, ("s.bpmn", _with_subprocess(("x", "y"))))["processes"][0]["id"]
    diff = client.get(f"/api/v1/process-definitions/{v1}/diff/{v2}").json()
    assert {c["elementId"] for c in diff["added"]} == {"y", "g_x_y", "g_y_s9"}
    assert {c["elementId"] for c in diff["removed"]} == {"g_x_s9"}
    assert by_id(diff["changed"])["x"]["changes"] == ["outgoing"]

    instance = _start_on(client, v1)
    assert [t["elementId"] for t in instance["openTasks"]] == ["x"]
    assert migrate(client, "execute", [instance["id"]], v2)["instances"][0]["migrated"]
    after_x = complete(client, instance["openTasks"][0]["id"])
    assert [t["elementId"] for t in after_x["openTasks"]] == ["y"]
    after_y = complete(client, after_x["openTasks"][0]["id"])
    assert [t["elementId"] for t in after_y["openTasks"]] == ["after"]


def test_a_running_timer_keeps_its_due_time_across_migration(client):
    v1 = deploy(client, ("t.bpmn", diagrams.with_timer("timer_moves", "PT2H")))["processes"][0]["id"]
    v2 = deploy(client, ("t.bpmn", diagrams.with_timer("timer_moves", "PT2H").replace(
        b'<bpmn:endEvent id="end"/>', '<bpmn:endEvent id="end" name="Hết hạn (v2)"/>'.encode())))
    v2_id = v2["processes"][0]["id"]
    instance = _start_on(client, v1)
    due = instance["waitingFor"][0]["dueAt"]
    assert due
    time.sleep(1.1)  # so a re-armed timer would get a different due time
    assert migrate(client, "execute", [instance["id"]], v2_id)["instances"][0]["migrated"]
    moved = client.get(f"/api/v1/process-instances/{instance['id']}").json()
    assert moved["version"] == 2
    assert [(w["type"], w["elementId"], w["dueAt"]) for w in moved["waitingFor"]] == [("timer", "wait_timer", due)]
