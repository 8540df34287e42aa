"""The issue's hostile expressions, end to end through the API, as script tasks and timer expressions.

(As conditions they are in test_deploy_rejections.py; the unit-level checks are in test_scripting.py.)
Each must be refused at deploy (422 unsupported_expression, or invalid_timer for a timer) or at start
(422 script_error), with nothing of the refused command kept.
"""

import pytest

from tests import diagrams
from tests.test_api_processes import deploy

ISSUE_LIST = [
    "().__class__.__base__.__subclasses__()",
    "__import__('os')",
    "open('/etc/passwd')",
    "getattr(x, '__globals__')",
]
LOOP = "while True:\n    pass"


def _refused_at_deploy_or_start(client, key: str, content: bytes) -> str:
    deployed = client.post("/api/v1/deployments", files=[("file", (f"{key}.bpmn", content, "application/xml"))])
    if deployed.status_code == 422:
        # as a condition or script it is an unsupported expression; as a timer, not a timer at all
        assert deployed.json()["code"] in ("unsupported_expression", "invalid_timer")
        assert client.get("/api/v1/process-definitions", params={"key": key}).json() == []
        return "deploy"
    assert deployed.status_code == 201, deployed.text
    started = client.post(f"/api/v1/process-definitions/key/{key}/start", json={"variables": {"x": 1}})
    assert started.status_code == 422, started.text
    assert started.json()["code"] == "script_error" and "Traceback" not in started.text
    assert client.get("/api/v1/process-instances", params={"key": key}).json() == []
    return "start"


@pytest.mark.parametrize("script", [f"y = {e}" for e in ISSUE_LIST] + [LOOP])
def test_hostile_script_task_never_runs(client, script):
    where = _refused_at_deploy_or_start(client, "ma_doc", diagrams.with_script("ma_doc", script))
    if script == LOOP:
        assert where == "start"  # a loop is legal Python: only the time limit can stop it


@pytest.mark.parametrize("expression", ISSUE_LIST)
def test_hostile_timer_expression_never_runs(client, expression):
    _refused_at_deploy_or_start(client, "hen_gio", diagrams.with_timer("hen_gio", expression))


def test_a_good_script_still_runs(client):
    deploy(client, ("tot.bpmn", diagrams.with_script("tot", "total = 2 * 21")))
    started = client.post("/api/v1/process-definitions/key/tot/start", json={})
    assert started.status_code == 201 and started.json()["variables"]["total"] == 42
