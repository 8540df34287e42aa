"""Every diagram shipped in workflows/bpmn deploys and runs to completion through the API."""

import pytest

from tests.conftest import shipped_diagrams
from tests.test_api_processes import complete, deploy, start

MAX_STEPS = 60


def _answers(task: dict) -> dict:
    """Fill the task's form the way a clerk approving everything would."""
    values = {}
    for field in (task.get("form") or {}).get("fields", []):
        kind = field.get("type")
        if kind == "boolean":
            values[field["id"]] = True
        elif kind == "long":
            values[field["id"]] = 1
        elif kind == "enum" and field.get("options"):
            values[field["id"]] = field["options"][0]["id"]
        else:
            values[field["id"]] = field.get("defaultValue") or "đồng ý"
    return values


@pytest.mark.parametrize("path", shipped_diagrams(), ids=lambda p: p.name)
def test_shipped_diagram_runs_to_completion(client, path):
    deployed = deploy(client, (path.name, path.read_bytes()))
    for process in deployed["processes"]:
        # The start variables every one-stop diagram may read (see app/dossiers/reception.py).
        instance = start(client, process["key"], businessKey=f"TEST-{process['key']}",
                         variables={"moh_route": False, "boundary_free_transfer": False})
        for _ in range(MAX_STEPS):
            if instance["status"] == "completed":
                break
            if instance["openTasks"]:
                task = instance["openTasks"][0]
                instance = complete(client, task["id"], _answers(task))
            elif any(w["type"] == "message" for w in instance["waitingFor"]):
                wait = next(w for w in instance["waitingFor"] if w["type"] == "message")
                response = client.post("/api/v1/messages", json={"messageName": wait["name"],
                                                                 "processInstanceId": instance["id"]})
                assert response.status_code == 200, response.text
                instance = response.json()
            else:
                pytest.fail(f"{path.name}: stuck with nothing to do: {instance['waitingFor']}")
        assert instance["status"] == "completed", f"{path.name} did not finish in {MAX_STEPS} steps"


def test_there_is_at_least_one_shipped_diagram():
    assert shipped_diagrams(), "workflows/bpmn/ is empty"
