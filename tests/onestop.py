"""Helpers for the one-stop tests: load the shipped catalogue, build reception bodies, walk a dossier."""

from datetime import datetime

import httpx

from app.container import Services
from app.engine.parsing import SourceFile
from tests.conftest import shipped_diagrams

COUNTER_CLERK = {"X-Actor": "mot_cua_1"}


def install_catalogue(services: Services) -> None:
    services.catalogue.load_shipped()
    for path in shipped_diagrams():
        services.deployments.deploy([SourceFile(path.name, path.read_bytes())], actor="test")


def procedures(client: httpx.Client, **params) -> list[dict]:
    response = client.get("/api/v1/procedures", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def units(client: httpx.Client, unit_type: str) -> list[dict]:
    return client.get("/api/v1/units", params={"type": unit_type}).json()


def reception_body(procedure: dict, receiving_unit: str, *, id_number: str = "001203004567",
                   competent_unit: str | None = None, received_at: datetime | None = None,
                   channel: str = "counter") -> dict:
    body = {
        "procedureCode": procedure["code"],
        "channel": channel,
        "receivingUnit": receiving_unit,
        "applicant": {"type": "citizen", "idNumber": id_number, "name": "Nguyễn Văn An", "phone": "0912345678"},
        "documents": [{"code": d["code"], "originals": d["originals"] or 1, "copies": d["copies"]}
                      for d in procedure["documents"] if d["required"]],
    }
    if competent_unit:
        body["competentUnit"] = competent_unit
    if received_at:
        body["receivedAt"] = received_at.isoformat()
    return body


def receive(client: httpx.Client, body: dict, expect: int = 201) -> dict:
    response = client.post("/api/v1/dossiers", json=body, headers=COUNTER_CLERK)
    assert response.status_code == expect, response.text
    return response.json()


def open_tasks(client: httpx.Client, dossier: dict) -> list[dict]:
    return client.get("/api/v1/tasks", params={"processInstanceId": dossier["processInstanceId"]}).json()


def dossier(client: httpx.Client, code: str) -> dict:
    response = client.get(f"/api/v1/dossiers/{code}")
    assert response.status_code == 200, response.text
    return response.json()


def act(client: httpx.Client, code: str, action: str, body: dict | None = None, expect: int = 200) -> dict:
    response = client.post(f"/api/v1/dossiers/{code}/actions/{action}", json=body or {}, headers=COUNTER_CLERK)
    assert response.status_code == expect, response.text
    return response.json()


def advance_to(client: httpx.Client, code: str, step: str, max_steps: int = 20) -> dict:
    """Complete the dossier's steps (delivering the Ministry result if it waits) until `step` is open."""
    for _ in range(max_steps):
        current = dossier(client, code)
        tasks = open_tasks(client, current)
        steps = [t["properties"].get("motcua:step") for t in tasks]
        if step in steps:
            return current
        if tasks:
            response = client.post(f"/api/v1/tasks/{tasks[0]['id']}/complete",
                                   json={"variables": {"appraisal_note": "Đạt"}}, headers={"X-Actor": "chuyen_vien"})
            assert response.status_code == 200, response.text
        elif current["currentStep"] == "ministry":
            response = client.post("/api/v1/messages", json={"messageName": "moh_result", "businessKey": code,
                                                             "variables": {"moh_decision": "QĐ-BYT"}})
            assert response.status_code == 200, response.text
        else:
            raise AssertionError(f"{code} has nothing open and is not waiting: {current['status']}")
    raise AssertionError(f"{code} never reached step {step}")
