"""The bugs schemathesis found, pinned: each was a 500 and is now a 422 problem+json with nothing changed."""

import pytest


@pytest.mark.parametrize(("method", "path", "body"), [
    ("get", "/api/v1/process-definitions?offset=36893488147419103232", None),
    ("get", "/api/v1/dossiers?offset=99999999999", None),
    ("delete", "/api/v1/calendar/overrides/967385201671399", None),
    ("post", "/api/v1/incidents/36893488147419103232/retry", None),
    ("post", "/api/v1/outbox/36893488147419103232/retry", None),
    ("post", "/api/v1/messages", {"messageName": "x", "businessKey": "HS", "messageId": "m-1",
                                  "variables": {"big": 2**70}}),
    ("post", "/api/v1/messages", {"messageName": "\u0000", "processInstanceId": "a"}),
    ("get", "/api/v1/process-instances?businessKey=a%00b", None),
    ("get", "/api/v1/process-instances?businessKey=%ED%A0%80", None),
])
def test_fuzz_findings_answer_422(client, method, path, body):
    response = client.request(method, path, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_lone_surrogate_in_a_json_body_is_refused_before_any_route(client):
    raw = b'{"messageName": "ket_qua", "businessKey": "\\ud91f", "variables": {}}'
    response = client.post("/api/v1/messages", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["code"] == "invalid_text", response.text
