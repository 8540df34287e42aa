"""Deployments that must be refused, through real HTTP on each database: a stable code, the element at
fault, problem+json, nothing stored; hostile XML answered quickly (a hang guard, not a benchmark)."""

import time

import httpx
import pytest

from app.engine import scripting
from tests import diagrams
from tests.test_api_processes import complete, deploy, start

PROBLEM_JSON = "application/problem+json"
HANG_GUARD_SECONDS = 5.0
BPMN = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'


def post_files(client: httpx.Client, *files: tuple[str, bytes]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.post("/api/v1/deployments",
                           files=[("file", (name, content, "application/xml")) for name, content in files])
    return response, time.monotonic() - started


def assert_problem(response: httpx.Response, status: int, code: str | set[str],
                   element_id: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM_JSON
    body = response.json()
    assert body["code"] in ({code} if isinstance(code, str) else code), body
    assert body["status"] == status and body["detail"], body
    if element_id is not None:
        assert body.get("elementId") == element_id, body
    return body


def assert_nothing_stored(client: httpx.Client) -> None:
    listed = client.get("/api/v1/process-definitions")
    assert listed.status_code == 200 and listed.json() == []


def refuse(client: httpx.Client, *files: tuple[str, bytes], status: int = 422, code: str | set[str],
           element_id: str | None = None) -> dict:
    response, _ = post_files(client, *files)
    body = assert_problem(response, status, code, element_id)
    assert_nothing_stored(client)
    return body


def process(body: str, key: str = "p", executable: str | None = "true", extra: str = "") -> bytes:
    flag = f' isExecutable="{executable}"' if executable is not None else ""
    return (diagrams.HEADER.format(key=key) + extra + f'<bpmn:process id="{key}"{flag}>\n{body}\n'
            "</bpmn:process>\n</bpmn:definitions>\n").encode()


# --- malformed or foreign input ---------------------------------------------------------------------

def test_invalid_xml(client):
    body = refuse(client, ("broken.bpmn", diagrams.linear("broken")[:-40]), code="invalid_xml")
    assert "broken.bpmn" in body["detail"]


def test_well_formed_xml_that_is_not_bpmn(client):
    refuse(client, ("page.bpmn", b'<?xml version="1.0"?><html><body><p>xin chao</p></body></html>'),
           code="not_bpmn")


def test_no_executable_process(client):
    refuse(client, ("draft.bpmn", process('<bpmn:startEvent id="s"/>', key="nhap", executable="false")),
           code="no_executable_process", element_id="nhap")


def test_empty_upload(client):
    refuse(client, ("empty.bpmn", b""), code="empty_file")


def test_request_without_file_part(client):
    response = client.post("/api/v1/deployments", data={"name": "không có tệp"})
    assert_problem(response, 422, "validation_error")
    assert_nothing_stored(client)


@pytest.mark.parametrize("content", [
    diagrams.linear("utf16").decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"),
    diagrams.linear("utf16be").decode().encode("utf-16-be"),  # no BOM: NUL bytes give it away
    diagrams.linear("latin1", name="Quy trình é").decode().replace("UTF-8", "ISO-8859-1")
    .encode("latin-1", errors="replace"),
    bytes(range(256)) * 64,
    b"<?xml version=\"1.0\"?>" + b"\xc3\x28\xa0\xa1\xe2\x28" * 1000,
], ids=["utf16-bom", "utf16-no-bom", "latin1", "byte-soup", "invalid-utf8"])
def test_not_utf8(client, content):
    refuse(client, ("encoding.bpmn", content), code="invalid_encoding")


# --- references the engine cannot resolve -----------------------------------------------------------

def test_sequence_flow_to_missing_element(client):
    refuse(client, ("dangling.bpmn", process(
        '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>'
        '<bpmn:sequenceFlow id="f_dangling" sourceRef="s" targetRef="khong_co"/>')),
        code="invalid_reference", element_id="f_dangling")


def test_duplicate_element_id(client):
    refuse(client, ("dup.bpmn", process('<bpmn:startEvent id="s"/><bpmn:userTask id="s"/><bpmn:endEvent id="e"/>'
                                        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="e"/>')),
           code="duplicate_id", element_id="s")


def test_duplicate_process_id_across_two_files(client):
    refuse(client, ("a.bpmn", diagrams.linear("trung")), ("b.bpmn", diagrams.linear("trung", tasks=("x",))),
           code="duplicate_process", element_id="trung")


def test_call_activity_to_unknown_process(client):
    refuse(client, ("call.bpmn", process(
        '<bpmn:startEvent id="s"/><bpmn:callActivity id="goi_con" calledElement="khong_ton_tai"/>'
        '<bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="goi_con"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="goi_con" targetRef="e"/>')),
        code="unknown_called_process", element_id="goi_con")


def test_one_bad_file_refuses_the_whole_deployment(client):
    refuse(client, ("good.bpmn", diagrams.linear("tot")), ("bad.bpmn", b"<bpmn:definitions"), code="invalid_xml")


# --- expressions and scripts ------------------------------------------------------------------------

@pytest.mark.parametrize("condition", ["().__class__.__base__.__subclasses__()", "__import__('os')"])
def test_forbidden_condition_refused_at_deploy(client, condition):
    body = refuse(client, ("cond.bpmn", diagrams.with_condition("dieu_kien", condition)),
                  code="unsupported_expression", element_id="yes")
    assert body["errors"][0]["elementId"] == "yes"


def test_script_task_with_import_refused_at_deploy(client):
    refuse(client, ("script.bpmn", diagrams.with_script("ma_lenh", "import os\nx = os.getcwd()")),
           code="unsupported_expression", element_id="calc")


# RestrictedPython compiles these (plain names and calls); they fail only when run, because `open`,
# `getattr` are not builtins there and `*` is size-guarded. If the policy later refuses them at compile
# time, the deploy must say so instead: either way they never run.
MAYBE_RUNTIME_ONLY = ["open('/etc/passwd')", "open('/etc/passwd').read()", "getattr(approved, '__class__')",
                      "'x' * 10**9"]


@pytest.mark.parametrize("condition", MAYBE_RUNTIME_ONLY)
def test_forbidden_condition_refused_at_deploy_or_at_run(client, condition):
    content = diagrams.with_condition("dieu_kien", condition)
    try:
        scripting.check_expression(condition)
    except scripting.ExpressionRejected:
        refuse(client, ("cond.bpmn", content), code="unsupported_expression", element_id="yes")
        return
    deploy(client, ("cond.bpmn", content))
    instance = start(client, "dieu_kien")
    task_id = instance["openTasks"][0]["id"]
    before = client.get(f"/api/v1/process-instances/{instance['id']}").json()

    response = client.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": {"approved": True}},
                           headers={"X-Actor": "can_bo_a"})
    assert_problem(response, 422, "script_error")
    assert "root:" not in response.text

    after = client.get(f"/api/v1/process-instances/{instance['id']}").json()
    assert after == before
    assert after["status"] == "running" and [t["elementId"] for t in after["openTasks"]] == ["decide"]
    history = client.get(f"/api/v1/process-instances/{instance['id']}/history").json()
    assert "task.completed" not in [h["type"] for h in history]
    complete(client, task_id, {"approved": True}, expect=422)  # still refused, still open


@pytest.mark.parametrize("script", ["data = open('/etc/passwd').read()", "x = getattr(1, '__class__')"])
def test_forbidden_script_refused_at_deploy_or_at_start(client, script):
    content = diagrams.with_script("ma_lenh", script)
    try:
        scripting.check_script(script)
    except scripting.ExpressionRejected:
        refuse(client, ("script.bpmn", content), code="unsupported_expression", element_id="calc")
        return
    deploy(client, ("script.bpmn", content))
    response = client.post("/api/v1/process-definitions/key/ma_lenh/start", json={})
    assert_problem(response, 422, "script_error", element_id="calc")
    assert "root:" not in response.text
    assert client.get("/api/v1/process-instances").json() == []


# --- hostile XML: refused, and quickly --------------------------------------------------------------

def _hostile(client: httpx.Client, content: bytes, status: int, code: str | set[str]) -> httpx.Response:
    response, elapsed = post_files(client, ("hostile.bpmn", content))
    assert elapsed < HANG_GUARD_SECONDS, f"answered after {elapsed:.1f} s"
    assert_problem(response, status, code)
    assert_nothing_stored(client)
    return response


XXE = [
    f'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<bpmn:definitions {BPMN}>'
    '<bpmn:process id="p" isExecutable="true"><bpmn:documentation>&e;</bpmn:documentation>'
    '<bpmn:startEvent id="s" name="&e;"/></bpmn:process></bpmn:definitions>',
    f'<?xml version="1.0"?>\n<!DOCTYPE x SYSTEM "file:///etc/passwd">\n<bpmn:definitions {BPMN}/>',
    f'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n<bpmn:definitions {BPMN}/>',
    f'<?xml version="1.0"?><!--{"x" * 8000}-->\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
    f'<bpmn:definitions {BPMN}><bpmn:process id="p">&e;</bpmn:process></bpmn:definitions>',
]


@pytest.mark.parametrize("xml", XXE, ids=["entity", "external-dtd", "parameter-entity", "late-doctype"])
def test_xxe(client, xml):
    response = _hostile(client, xml.encode(), 422, "dtd_forbidden")
    assert "root:" not in response.text


def test_xxe_in_utf16_does_not_slip_past_the_byte_check(client):
    response = _hostile(client, XXE[0].replace('version="1.0"', 'version="1.0" encoding="UTF-16"').encode("utf-16"),
                        422, {"invalid_encoding", "dtd_forbidden"})
    assert "root:" not in response.text


def test_billion_laughs(client):
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    xml = f'<?xml version="1.0"?>\n<!DOCTYPE lolz [{entities}]>\n<bpmn:definitions {BPMN}>&lol9;</bpmn:definitions>'
    _hostile(client, xml.encode(), 422, "dtd_forbidden")


def test_quadratic_blowup(client):
    xml = (f'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "{"A" * 100_000}">]>\n<bpmn:definitions {BPMN}>'
           f'<bpmn:process id="p"><bpmn:documentation>{"&a;" * 10_000}</bpmn:documentation></bpmn:process>'
           "</bpmn:definitions>")
    _hostile(client, xml.encode(), 422, "dtd_forbidden")


def test_fifty_megabytes(client):
    head = diagrams.linear("to_lon")
    _hostile(client, head[:-20] + b" " * (50 * 1024 * 1024) + head[-20:], 413, "payload_too_large")


def test_just_over_the_per_file_limit(client, services):
    limit = services.deployments.limits.max_bytes
    head = diagrams.linear("hoi_lon")
    _hostile(client, head[:-20] + b" " * (limit + 1 - len(head)) + head[-20:], 413, "payload_too_large")


@pytest.mark.parametrize("levels", [10_000, 100])
def test_deep_nesting(client, levels):
    xml = (f'<bpmn:definitions {BPMN}><bpmn:process id="p" isExecutable="true"><bpmn:extensionElements>'
           + "<x>" * levels + "</x>" * levels + "</bpmn:extensionElements></bpmn:process></bpmn:definitions>")
    _hostile(client, xml.encode(), 422, {"too_deep", "invalid_xml"})


def test_too_many_elements(client):
    count = 15_000  # tasks plus flows: 30,000 elements
    nodes = ['<bpmn:startEvent id="s"/>']
    previous = "s"
    for i in range(count - 1):
        nodes.append(f'<bpmn:task id="t{i}"/><bpmn:sequenceFlow id="f{i}" sourceRef="{previous}" targetRef="t{i}"/>')
        previous = f"t{i}"
    _hostile(client, process("".join(nodes), key="nhieu"), 422, "too_many_elements")


def test_long_chain_is_refused_not_crashed(client):
    """SpiffWorkflow parses a chain of tasks recursively; a very long one must be a 422, not a 500."""
    tasks = tuple(f"t{i}" for i in range(3_000))
    response, elapsed = post_files(client, ("chain.bpmn", diagrams.linear("chuoi_dai", tasks=tasks)))
    assert elapsed < HANG_GUARD_SECONDS
    if response.status_code != 201:
        assert_problem(response, 422, "too_deep")
        assert_nothing_stored(client)


def test_xpath_injection_through_a_reference_is_refused_quickly(client):
    """SpiffWorkflow splices messageRef into an XPath; a quote would let the diagram run its own query."""
    evil = "x&quot;] | //*[count(//*[count(//*) &gt; 0]) &gt; 0] | //*[@id=&quot;y"
    padding = "".join(f'<bpmn:dataObject id="d{i}"/>' for i in range(5_000))
    content = process(f'{padding}<bpmn:startEvent id="s"/><bpmn:receiveTask id="cho" messageRef="{evil}"/>'
                      '<bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="cho"/>'
                      '<bpmn:sequenceFlow id="f2" sourceRef="cho" targetRef="e"/>', key="tiem",
                      extra='<bpmn:message id="Msg" name="m"/>')
    response, elapsed = post_files(client, ("xpath.bpmn", content))
    assert elapsed < HANG_GUARD_SECONDS
    assert_problem(response, 422, "invalid_id", element_id="cho")
    assert_nothing_stored(client)


# --- formerly a 500 -----------------------------------------------------------------------------------

def test_receive_task_deploys_and_takes_its_message(client):
    """Stock CamundaParser gave receive tasks a message definition the serializer could not store (500)."""
    content = process('<bpmn:startEvent id="s"/><bpmn:receiveTask id="cho_kq" messageRef="Msg"/>'
                      '<bpmn:userTask id="xu_ly"/><bpmn:endEvent id="e"/>'
                      '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="cho_kq"/>'
                      '<bpmn:sequenceFlow id="f2" sourceRef="cho_kq" targetRef="xu_ly"/>'
                      '<bpmn:sequenceFlow id="f3" sourceRef="xu_ly" targetRef="e"/>', key="nhan_tin",
                      extra='<bpmn:message id="Msg" name="ket_qua_bo"/>')
    deploy(client, ("receive.bpmn", content))
    instance = start(client, "nhan_tin", businessKey="HS-NHAN")
    assert [w["elementId"] for w in instance["waitingFor"]] == ["cho_kq"]
    response = client.post("/api/v1/messages", json={"messageName": "ket_qua_bo", "businessKey": "HS-NHAN",
                                                     "variables": {"so": "QĐ-1"}})
    assert response.status_code == 200, response.text
    assert [t["elementId"] for t in response.json()["openTasks"]] == ["xu_ly"]
    assert response.json()["variables"]["so"] == "QĐ-1"
