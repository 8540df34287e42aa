"""The process REST API through real HTTP, on each database."""

from pathlib import Path

import httpx

from tests import diagrams

REFERENCE = Path(__file__).resolve().parent.parent / "workflows" / "bpmn" / "reference_procedure.bpmn"


def deploy(client: httpx.Client, *files: tuple[str, bytes], expect: int = 201) -> dict:
    response = client.post("/api/v1/deployments",
                           files=[("file", (name, content, "application/xml")) for name, content in files])
    assert response.status_code == expect, response.text
    return response.json()


def start(client: httpx.Client, key: str, **body) -> dict:
    response = client.post(f"/api/v1/process-definitions/key/{key}/start", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def complete(client: httpx.Client, task_id: str, variables: dict | None = None, expect: int = 200) -> dict:
    response = client.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": variables or {}},
                           headers={"X-Actor": "can_bo_a"})
    assert response.status_code == expect, response.text
    return response.json()


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_openapi_lists_the_v1_paths(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/deployments", "/api/v1/process-definitions", "/api/v1/process-definitions/{definition_id}",
                 "/api/v1/process-definitions/{definition_id}/xml", "/api/v1/process-definitions/key/{key}/start",
                 "/api/v1/process-instances", "/api/v1/process-instances/{instance_id}",
                 "/api/v1/process-instances/{instance_id}/history", "/api/v1/tasks", "/api/v1/tasks/{task_id}",
                 "/api/v1/tasks/{task_id}/claim", "/api/v1/tasks/{task_id}/complete", "/api/v1/messages"):
        assert path in paths, path


def test_deploy_numbers_versions_and_spots_duplicates(client):
    first = deploy(client, ("a.bpmn", diagrams.linear("thu_tuc_a")))
    assert first["duplicate"] is False
    assert [(p["key"], p["version"]) for p in first["processes"]] == [("thu_tuc_a", 1)]

    again = deploy(client, ("a.bpmn", diagrams.linear("thu_tuc_a")))
    assert again["duplicate"] is True
    assert again["id"] == first["id"]
    assert again["processes"][0]["id"] == first["processes"][0]["id"]

    changed = deploy(client, ("a.bpmn", diagrams.linear("thu_tuc_a", tasks=("a", "b", "c"))))
    assert changed["duplicate"] is False
    assert changed["processes"][0]["version"] == 2

    listed = client.get("/api/v1/process-definitions", params={"key": "thu_tuc_a"}).json()
    assert [d["version"] for d in listed] == [1, 2]
    assert len({d["sha256"] for d in listed}) == 2

    one = client.get(f"/api/v1/process-definitions/{listed[0]['id']}").json()
    assert one["key"] == "thu_tuc_a" and one["version"] == 1
    xml = client.get(f"/api/v1/process-definitions/{listed[0]['id']}/xml")
    assert xml.headers["content-type"].startswith("application/xml")
    assert xml.content == diagrams.linear("thu_tuc_a")


def test_start_uses_latest_version_and_running_instances_keep_theirs(client):
    deploy(client, ("a.bpmn", diagrams.linear("versioned", tasks=("a",))))
    old = start(client, "versioned")
    deploy(client, ("a.bpmn", diagrams.linear("versioned", tasks=("x", "y"))))
    new = start(client, "versioned")
    assert (old["version"], new["version"]) == (1, 2)
    assert [t["elementId"] for t in old["openTasks"]] == ["a"]
    assert [t["elementId"] for t in new["openTasks"]] == ["x"]
    done = complete(client, old["openTasks"][0]["id"])
    assert done["status"] == "completed" and done["version"] == 1


def test_start_by_definition_id(client):
    deployed = deploy(client, ("a.bpmn", diagrams.linear("by_id", tasks=("a",))))
    definition_id = deployed["processes"][0]["id"]
    response = client.post(f"/api/v1/process-definitions/{definition_id}/start", json={"businessKey": "HS-1"})
    assert response.status_code == 201
    assert response.json()["definitionId"] == definition_id


def test_reference_procedure_end_to_end(client):
    deploy(client, ("reference_procedure.bpmn", REFERENCE.read_bytes()))
    instance = start(client, "reference_procedure", businessKey="H15.50.05-261008-0001",
                     variables={"applicant": "Nguyễn Văn An"})
    assert instance["status"] == "running"
    assert instance["businessKey"] == "H15.50.05-261008-0001"
    walked = []
    answers = {"department_appraisal": {"approved": True, "note": "Đủ điều kiện"}}
    for _ in range(10):
        if instance["openTasks"]:
            task = instance["openTasks"][0]
            walked.append(task["elementId"])
            instance = complete(client, task["id"], answers.get(task["elementId"], {}))
        elif instance["waitingFor"]:
            assert instance["waitingFor"] == [{"type": "message", "name": "moh_result", "elementId": "moh_result",
                                               "dueAt": None}]
            walked.append("moh_result")
            response = client.post("/api/v1/messages", json={
                "messageName": "moh_result", "businessKey": "H15.50.05-261008-0001",
                "variables": {"mohDecision": "QĐ-123/BYT"}})
            assert response.status_code == 200, response.text
            instance = response.json()
        else:
            break
    assert walked == ["reception_check", "commune_review", "department_appraisal", "department_approval",
                      "moh_result", "return_result"]
    assert instance["status"] == "completed"
    assert instance["variables"]["mohDecision"] == "QĐ-123/BYT"
    assert instance["variables"]["applicant"] == "Nguyễn Văn An"

    history = client.get(f"/api/v1/process-instances/{instance['id']}/history").json()
    types = [h["type"] for h in history]
    assert types[0] == "instance.started" and types[-1] == "instance.completed"
    completed = [h for h in history if h["type"] == "task.completed"]
    assert [h["elementId"] for h in completed] == [w for w in walked if w != "moh_result"]
    assert all(h["actor"] == "can_bo_a" for h in completed)
    assert [h["elementId"] for h in history if h["type"] == "message.received"] == ["moh_result"]


def test_reference_procedure_refusal_path_skips_the_ministry(client):
    deploy(client, ("reference_procedure.bpmn", REFERENCE.read_bytes()))
    instance = start(client, "reference_procedure")
    for element in ("reception_check", "commune_review"):
        assert instance["openTasks"][0]["elementId"] == element
        instance = complete(client, instance["openTasks"][0]["id"])
    instance = complete(client, instance["openTasks"][0]["id"], {"approved": False})
    assert [t["elementId"] for t in instance["openTasks"]] == ["return_result"]
    assert instance["waitingFor"] == []
    instance = complete(client, instance["openTasks"][0]["id"])
    assert instance["status"] == "completed"


def test_task_rows_carry_lane_groups_and_form(client):
    deploy(client, ("reference_procedure.bpmn", REFERENCE.read_bytes()))
    instance = start(client, "reference_procedure")
    task = instance["openTasks"][0]
    assert task["lane"] == "lane_reception"
    assert task["laneName"] == "Bộ phận Một cửa"
    assert task["candidateGroups"] == ["reception_clerk"]
    assert task["properties"]["motcua:step"] == "reception"
    for _ in ("reception_check", "commune_review"):
        instance = complete(client, instance["openTasks"][0]["id"])
    appraisal = instance["openTasks"][0]
    assert appraisal["form"]["key"] == "appraisal"
    assert [f["id"] for f in appraisal["form"]["fields"]] == ["approved", "note"]


def test_worklist_filters(client):
    deploy(client, ("a.bpmn", diagrams.linear("wl_a", tasks=("a",), groups="clerk")))
    deploy(client, ("b.bpmn", diagrams.linear("wl_b", tasks=("b",), groups="specialist,approver")))
    a = start(client, "wl_a")
    b = start(client, "wl_b")
    by_group = client.get("/api/v1/tasks", params={"candidateGroup": "approver"}).json()
    assert [t["processInstanceId"] for t in by_group] == [b["id"]]
    by_instance = client.get("/api/v1/tasks", params={"processInstanceId": a["id"]}).json()
    assert [t["elementId"] for t in by_instance] == ["a"]
    task_id = by_instance[0]["id"]
    claimed = client.post(f"/api/v1/tasks/{task_id}/claim", json={"assignee": "thu_ky_1"})
    assert claimed.status_code == 200 and claimed.json()["assignee"] == "thu_ky_1"
    assert [t["id"] for t in client.get("/api/v1/tasks", params={"assignee": "thu_ky_1"}).json()] == [task_id]
    stolen = client.post(f"/api/v1/tasks/{task_id}/claim", json={"assignee": "nguoi_khac"})
    assert stolen.status_code == 409 and stolen.json()["code"] == "conflict"
    assert client.get(f"/api/v1/tasks/{task_id}").json()["assignee"] == "thu_ky_1"
    complete(client, task_id)
    assert client.get("/api/v1/tasks", params={"processInstanceId": a["id"]}).json() == []
    done = client.get("/api/v1/tasks", params={"processInstanceId": a["id"], "status": "completed"}).json()
    assert done[0]["completedBy"] == "can_bo_a"


def test_instance_list_filters(client):
    deploy(client, ("a.bpmn", diagrams.linear("list_a", tasks=("a",))))
    one = start(client, "list_a", businessKey="HS-1")
    start(client, "list_a", businessKey="HS-2")
    complete(client, one["openTasks"][0]["id"])
    assert [i["businessKey"] for i in client.get("/api/v1/process-instances",
                                                  params={"status": "completed"}).json()] == ["HS-1"]
    assert [i["id"] for i in client.get("/api/v1/process-instances", params={"businessKey": "HS-1"}).json()] \
        == [one["id"]]
    assert len(client.get("/api/v1/process-instances", params={"key": "list_a", "limit": 1}).json()) == 1
    assert client.get("/api/v1/process-instances", params={"status": "bogus"}).status_code == 422


def test_completing_twice_is_a_conflict_and_changes_nothing(client):
    deploy(client, ("a.bpmn", diagrams.linear("twice", tasks=("a", "b"))))
    instance = start(client, "twice")
    task_id = instance["openTasks"][0]["id"]
    after = complete(client, task_id)
    problem = complete(client, task_id, expect=409)
    assert problem["code"] == "conflict"
    now = client.get(f"/api/v1/process-instances/{instance['id']}").json()
    assert now["revision"] == after["revision"]
    assert [t["elementId"] for t in now["openTasks"]] == ["b"]


def test_unknown_ids_are_404_problems(client):
    for method, path, body in (
        ("GET", "/api/v1/process-definitions/nope", None),
        ("GET", "/api/v1/process-definitions/nope/xml", None),
        ("POST", "/api/v1/process-definitions/key/nope/start", {}),
        ("GET", "/api/v1/process-instances/nope", None),
        ("GET", "/api/v1/process-instances/nope/history", None),
        ("GET", "/api/v1/tasks/nope", None),
        ("POST", "/api/v1/tasks/nope/complete", {}),
        ("POST", "/api/v1/tasks/nope/claim", {"assignee": "x"}),
        ("GET", "/api/v1/no-such-route", None),
    ):
        response = client.request(method, path, json=body)
        assert response.status_code == 404, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 404 and response.json()["code"]


def test_bad_bodies_are_422_problems_naming_the_field(client):
    deploy(client, ("a.bpmn", diagrams.linear("bodies", tasks=("a",))))
    response = client.post("/api/v1/process-definitions/key/bodies/start", json={"variables": [1, 2]})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error" and response.json()["field"] == "variables"
    response = client.post("/api/v1/process-definitions/key/bodies/start", content=b"{not json",
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    response = client.post("/api/v1/messages", json={"businessKey": "x"})
    assert response.status_code == 422 and response.json()["field"] == "messageName"
    assert client.get("/api/v1/process-instances").json() == []


def test_message_correlation(client):
    deploy(client, ("m.bpmn", diagrams.with_message("msg_flow", "ket_qua")))
    first = start(client, "msg_flow", businessKey="HS-A")
    start(client, "msg_flow", businessKey="HS-B")
    assert first["waitingFor"][0]["name"] == "ket_qua"
    ambiguous = client.post("/api/v1/messages", json={"messageName": "ket_qua"})
    assert ambiguous.status_code == 422 and ambiguous.json()["code"] == "ambiguous_correlation"
    nobody = client.post("/api/v1/messages", json={"messageName": "khong_ai_cho", "businessKey": "HS-A"})
    assert nobody.status_code == 404 and nobody.json()["code"] == "no_waiting_instance"
    delivered = client.post("/api/v1/messages", json={"messageName": "ket_qua", "processInstanceId": first["id"],
                                                      "variables": {"so_quyet_dinh": "12/QĐ"}})
    assert delivered.status_code == 200
    body = delivered.json()
    assert body["waitingFor"] == [] and [t["elementId"] for t in body["openTasks"]] == ["after"]
    assert body["variables"]["so_quyet_dinh"] == "12/QĐ"
    again = client.post("/api/v1/messages", json={"messageName": "ket_qua", "businessKey": "HS-A"})
    assert again.status_code == 404


def test_timer_wait_is_reported_with_its_due_time(client):
    deploy(client, ("t.bpmn", diagrams.with_timer("timer_flow", '"PT2H"')))
    instance = start(client, "timer_flow")
    assert instance["status"] == "running"
    [wait] = instance["waitingFor"]
    assert wait["type"] == "timer" and wait["elementId"] == "wait_timer" and wait["dueAt"]


def test_unquoted_iso_timer_is_accepted(client):
    deploy(client, ("t.bpmn", diagrams.with_timer("timer_unquoted", "PT30M")))
    instance = start(client, "timer_unquoted")
    assert instance["waitingFor"][0]["type"] == "timer"
