"""Diagrams as other modelers write them, deployed and run through real HTTP on each database:
implicit split/join, empty subprocesses, data-only elements, JUEL and FEEL conditions."""

from datetime import UTC, datetime

import pytest

from tests import diagrams
from tests.test_api_processes import complete, deploy, start
from tests.test_deploy_rejections import post_files, refuse

CAMUNDA_HEADER = diagrams.HEADER


def _doc(key: str, body: str, executable: str | None = "true") -> bytes:
    flag = f' isExecutable="{executable}"' if executable is not None else ""
    return (CAMUNDA_HEADER.format(key=key) + f'<bpmn:process id="{key}"{flag}>\n{body}\n</bpmn:process>\n'
            "</bpmn:definitions>\n").encode()


def _open(instance: dict) -> list[str]:
    return sorted(t["elementId"] for t in instance["openTasks"])


def _gateway_diagram(key: str, condition: str) -> bytes:
    return _doc(key, f'''
<bpmn:startEvent id="start"/>
<bpmn:exclusiveGateway id="gw" default="to_no"/>
<bpmn:userTask id="yes"/><bpmn:userTask id="no"/><bpmn:endEvent id="end_yes"/><bpmn:endEvent id="end_no"/>
<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="gw"/>
<bpmn:sequenceFlow id="to_yes" sourceRef="gw" targetRef="yes">
  <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"><![CDATA[{condition}]]></bpmn:conditionExpression>
</bpmn:sequenceFlow>
<bpmn:sequenceFlow id="to_no" sourceRef="gw" targetRef="no"/>
<bpmn:sequenceFlow id="f3" sourceRef="yes" targetRef="end_yes"/>
<bpmn:sequenceFlow id="f4" sourceRef="no" targetRef="end_no"/>''')


# (condition, variables that take the conditional flow, variables that take the default)
ROUTES = [
    ("${approved}", {"approved": True}, {"approved": False}),
    ("${!approved}", {"approved": False}, {"approved": True}),
    ("${amount > 1000 && level == 'xa'}", {"amount": 1500, "level": "xa"}, {"amount": 1500, "level": "huyen"}),
    ("${empty ghiChu}", {"ghiChu": ""}, {"ghiChu": "có"}),
    ("${not empty ghiChu}", {"ghiChu": ["a"]}, {"ghiChu": None}),
    ("${level eq 'xa' and not (amount ge 10)}", {"level": "xa", "amount": 5}, {"level": "xa", "amount": 10}),
    ("${a.b lt 3 || c == null}", {"a": {"b": 9}, "c": None}, {"a": {"b": 9}, "c": 1}),
    ("#{ten > 'b'}", {"ten": "c"}, {"ten": "a"}),
    ("=approved", {"approved": True}, {"approved": False}),
    ('= amount > 1000 and level = "xa"', {"amount": 1001, "level": "xa"}, {"amount": 1000, "level": "xa"}),
    ("= level != null", {"level": "xa"}, {"level": None}),
    ("=not(approved) or amount <= 0", {"approved": True, "amount": -1}, {"approved": True, "amount": 1}),
    ("approved == True", {"approved": True}, {"approved": False}),
]


@pytest.mark.parametrize(("condition", "taken", "default"), ROUTES, ids=[r[0] for r in ROUTES])
def test_condition_dialects_route(client, condition, taken, default):
    key = "dk"
    deploy(client, ("dk.bpmn", _gateway_diagram(key, condition)))
    assert _open(start(client, key, variables=taken)) == ["yes"]
    assert _open(start(client, key, variables=default)) == ["no"]


@pytest.mark.parametrize("condition", [
    "${execution.getVariable('x')}", "${foo(1)}", "dong ${a} ${b}", "${a ==}", "${__x}",
    '= some x in xs satisfies x = "a"', "= a in [1, 2]", "= 'x' = a",
])
def test_unsupported_dialect_refused_with_the_flow_id(client, condition):
    body = refuse(client, ("bad.bpmn", _gateway_diagram("bad", condition)), code="unsupported_expression",
                  element_id="to_yes")
    assert body["errors"][0]["elementId"] == "to_yes"


def test_every_unsupported_construct_listed(client):
    response, _ = post_files(client, ("many.bpmn", _doc("many", '''
<bpmn:startEvent id="start"><bpmn:timerEventDefinition id="t"/></bpmn:startEvent>
<bpmn:businessRuleTask id="rule"/><bpmn:scriptTask id="groovy" scriptFormat="groovy"><bpmn:script>x</bpmn:script>
</bpmn:scriptTask><bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="rule"/>
<bpmn:sequenceFlow id="f2" sourceRef="rule" targetRef="groovy"/>
<bpmn:sequenceFlow id="f3" sourceRef="groovy" targetRef="end">
  <bpmn:conditionExpression>${a +* b}</bpmn:conditionExpression></bpmn:sequenceFlow>''')))
    assert response.status_code == 422, response.text
    problems = {(p["elementId"], p["code"]) for p in response.json()["errors"]}
    assert problems == {("f3", "unsupported_expression"), ("start", "invalid_timer"),
                        ("rule", "missing_attribute"), ("groovy", "unsupported_script")}
    assert all(p["message"] for p in response.json()["errors"])
    assert client.get("/api/v1/process-definitions").json() == []


def test_implicit_parallel_split_and_uncontrolled_merge(client):
    # a -> (b, c) without a gateway: both run; b and c both flow into d: d runs once per token
    deploy(client, ("split.bpmn", _doc("split", '''
<bpmn:startEvent id="start"/><bpmn:userTask id="a"/><bpmn:userTask id="b"/><bpmn:userTask id="c"/>
<bpmn:userTask id="d"/><bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="a"/>
<bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="b"/><bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="c"/>
<bpmn:sequenceFlow id="f3" sourceRef="b" targetRef="d"/><bpmn:sequenceFlow id="f4" sourceRef="c" targetRef="d"/>
<bpmn:sequenceFlow id="f5" sourceRef="d" targetRef="end"/>''', executable=None)))
    instance = start(client, "split")
    assert _open(instance) == ["a"]
    instance = complete(client, instance["openTasks"][0]["id"])
    assert _open(instance) == ["b", "c"]
    b = next(t for t in instance["openTasks"] if t["elementId"] == "b")
    instance = complete(client, b["id"])
    assert _open(instance) == ["c", "d"]
    first_d = next(t for t in instance["openTasks"] if t["elementId"] == "d")
    instance = complete(client, first_d["id"])
    assert _open(instance) == ["c"] and instance["status"] == "running"
    instance = complete(client, instance["openTasks"][0]["id"])
    assert _open(instance) == ["d"]
    instance = complete(client, instance["openTasks"][0]["id"])
    assert instance["status"] == "completed"


def test_conditional_flows_out_of_a_task_are_an_inclusive_split(client):
    deploy(client, ("incl.bpmn", _doc("incl", '''
<bpmn:startEvent id="start"/><bpmn:userTask id="a"/><bpmn:userTask id="always"/><bpmn:userTask id="sometimes"/>
<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>
<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="a"/>
<bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="always"/>
<bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="sometimes">
  <bpmn:conditionExpression>${urgent}</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="f3" sourceRef="always" targetRef="e1"/>
<bpmn:sequenceFlow id="f4" sourceRef="sometimes" targetRef="e2"/>''')))
    instance = start(client, "incl")
    assert _open(complete(client, instance["openTasks"][0]["id"], {"urgent": True})) == ["always", "sometimes"]
    instance = start(client, "incl")
    assert _open(complete(client, instance["openTasks"][0]["id"], {"urgent": False})) == ["always"]


def test_empty_subprocess_data_stores_and_annotations_deploy_and_run(client):
    deploy(client, ("sub.bpmn", _doc("sub", '''
<bpmn:startEvent id="start"/>
<bpmn:subProcess id="collapsed"/>
<bpmn:subProcess id="no_start"><bpmn:userTask id="inner"/><bpmn:endEvent id="inner_end"/>
  <bpmn:sequenceFlow id="i1" sourceRef="inner" targetRef="inner_end"/></bpmn:subProcess>
<bpmn:userTask id="last"><bpmn:property id="p1" name="__targetRef_placeholder"/>
  <bpmn:dataInputAssociation id="di1"><bpmn:sourceRef>store_ref</bpmn:sourceRef><bpmn:targetRef>p1</bpmn:targetRef>
  </bpmn:dataInputAssociation>
  <bpmn:dataOutputAssociation id="do1"><bpmn:targetRef>obj_ref</bpmn:targetRef></bpmn:dataOutputAssociation>
</bpmn:userTask>
<bpmn:dataStoreReference id="store_ref" name="Kho hồ sơ"/>
<bpmn:dataObjectReference id="obj_ref" dataObjectRef="obj"/><bpmn:dataObject id="obj"/>
<bpmn:textAnnotation id="note"><bpmn:text>Ghi chú</bpmn:text></bpmn:textAnnotation>
<bpmn:association id="assoc" sourceRef="last" targetRef="note"/>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="collapsed"/>
<bpmn:sequenceFlow id="f1" sourceRef="collapsed" targetRef="no_start"/>
<bpmn:sequenceFlow id="f2" sourceRef="no_start" targetRef="last"/>
<bpmn:sequenceFlow id="f3" sourceRef="last" targetRef="end"/>''')))
    instance = start(client, "sub")
    assert _open(instance) == ["inner"]
    instance = complete(client, instance["openTasks"][0]["id"])
    assert _open(instance) == ["last"]
    assert complete(client, instance["openTasks"][0]["id"])["status"] == "completed"


def test_explicitly_non_executable_process_still_refused(client):
    refuse(client, ("draft.bpmn", _doc("nhap", '<bpmn:startEvent id="s"/>', executable="false")),
           code="no_executable_process")


# --- Camunda extension attributes on user tasks ------------------------------------------------------

FORM_TASK = '''
<bpmn:startEvent id="start"/>
<bpmn:userTask id="tham_dinh" name="Thẩm định" camunda:candidateGroups="chuyen_vien, lanh_dao"
    camunda:candidateUsers="an,binh" camunda:assignee="${initiator}" camunda:dueDate="P2D"
    camunda:followUpDate="P1D" camunda:formKey="embedded:app:forms/tham-dinh.html">
  <bpmn:extensionElements>
    <camunda:formData>
      <camunda:formField id="soTien" label="Số tiền" type="long">
        <camunda:validation><camunda:constraint name="required"/><camunda:constraint name="min" config="0"/>
          <camunda:constraint name="max" config="1000000"/></camunda:validation>
      </camunda:formField>
      <camunda:formField id="ghiChu" label="Ghi chú" type="string">
        <camunda:validation><camunda:constraint name="minlength" config="3"/>
          <camunda:constraint name="maxlength" config="10"/></camunda:validation>
      </camunda:formField>
      <camunda:formField id="ketQua" label="Kết quả" type="enum">
        <camunda:value id="dat" name="Đạt"/><camunda:value id="khong_dat" name="Không đạt"/>
      </camunda:formField>
      <camunda:formField id="donVi" label="Đơn vị" type="string" defaultValue="So Y te">
        <camunda:validation><camunda:constraint name="readonly"/></camunda:validation>
      </camunda:formField>
      <camunda:formField id="khan" label="Khẩn" type="boolean"/>
    </camunda:formData>
    <camunda:properties><camunda:property name="buoc" value="3"/></camunda:properties>
  </bpmn:extensionElements>
</bpmn:userTask>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="tham_dinh"/>
<bpmn:sequenceFlow id="f2" sourceRef="tham_dinh" targetRef="end"/>'''


def test_camunda_task_attributes_in_the_task_view(client):
    deploy(client, ("form.bpmn", _doc("form", FORM_TASK)))
    instance = start(client, "form", variables={"initiator": "nguyen_van_a"})
    task = client.get(f"/api/v1/tasks/{instance['openTasks'][0]['id']}").json()
    assert task["candidateGroups"] == ["chuyen_vien", "lanh_dao"]
    assert task["candidateUsers"] == ["an", "binh"]
    assert task["assignee"] == "nguyen_van_a"
    assert task["dueAt"] is not None and task["properties"] == {"buoc": "3"}
    form = task["form"]
    assert form["key"] == "embedded:app:forms/tham-dinh.html" and form["followUpAt"] < task["dueAt"]
    fields = {f["id"]: f for f in form["fields"]}
    assert fields["soTien"]["validation"] == {"required": None, "min": "0", "max": "1000000"}
    assert fields["soTien"]["type"] == "long" and fields["soTien"]["label"] == "Số tiền"
    assert [o["id"] for o in fields["ketQua"]["options"]] == ["dat", "khong_dat"]
    assert fields["donVi"]["defaultValue"] == "So Y te"


def test_assignee_expression_without_a_value_leaves_the_task_unassigned(client):
    deploy(client, ("form.bpmn", _doc("form", FORM_TASK)))
    assert start(client, "form")["openTasks"][0]["assignee"] is None


@pytest.mark.parametrize(("variables", "field"), [
    ({}, "soTien"),
    ({"soTien": -1}, "soTien"),
    ({"soTien": 2_000_000}, "soTien"),
    ({"soTien": "100"}, "soTien"),
    ({"soTien": True}, "soTien"),
    ({"soTien": 5, "ghiChu": "ab"}, "ghiChu"),
    ({"soTien": 5, "ghiChu": "qua dai roi day"}, "ghiChu"),
    ({"soTien": 5, "ketQua": "co_the"}, "ketQua"),
    ({"soTien": 5, "donVi": "So khac"}, "donVi"),
    ({"soTien": 5, "khan": "co"}, "khan"),
])
def test_form_data_validated_on_completion(client, variables, field):
    deploy(client, ("form.bpmn", _doc("form", FORM_TASK)))
    instance = start(client, "form")
    task_id = instance["openTasks"][0]["id"]
    response = client.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": variables})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid_form_data" and body["field"] == field, body
    assert body["errors"][0]["field"] == field
    after = client.get(f"/api/v1/process-instances/{instance['id']}").json()
    assert after["status"] == "running" and after["revision"] == instance["revision"]
    assert client.get(f"/api/v1/tasks/{task_id}").json()["status"] == "open"


def test_valid_form_data_completes_the_task(client):
    deploy(client, ("form.bpmn", _doc("form", FORM_TASK)))
    instance = start(client, "form")
    done = complete(client, instance["openTasks"][0]["id"],
                    {"soTien": 500, "ghiChu": "hợp lệ", "ketQua": "dat", "donVi": "So Y te", "khan": False})
    assert done["status"] == "completed" and done["variables"]["soTien"] == 500


@pytest.mark.parametrize("expression", ["${thoiHan}", "=thoiHan"])
def test_timer_duration_given_as_an_expression(client, expression):
    deploy(client, ("hen.bpmn", _doc("hen", f'''
<bpmn:startEvent id="start"/>
<bpmn:intermediateCatchEvent id="cho"><bpmn:timerEventDefinition>
  <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{expression}</bpmn:timeDuration>
</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="cho"/>
<bpmn:sequenceFlow id="f2" sourceRef="cho" targetRef="end"/>''')))
    short = start(client, "hen", variables={"thoiHan": "PT1H"})["waitingFor"]
    long = start(client, "hen", variables={"thoiHan": "P10D"})["waitingFor"]
    assert [w["elementId"] for w in short] == ["cho"] and [w["type"] for w in short] == ["timer"]
    assert short[0]["dueAt"] < long[0]["dueAt"]


@pytest.mark.parametrize("condition", ["${daDuyet}", "= daDuyet = true"])
def test_conditional_event_in_a_dialect(client, condition):
    deploy(client, ("dk_su_kien.bpmn", _doc("dk_su_kien", f'''
<bpmn:startEvent id="start"/><bpmn:userTask id="a"/>
<bpmn:intermediateCatchEvent id="cho_duyet"><bpmn:conditionalEventDefinition>
  <bpmn:condition xsi:type="bpmn:tFormalExpression">{condition}</bpmn:condition>
</bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:userTask id="u"/><bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="a"/>
<bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="cho_duyet"/>
<bpmn:sequenceFlow id="f3" sourceRef="cho_duyet" targetRef="u"/>
<bpmn:sequenceFlow id="f4" sourceRef="u" targetRef="end"/>''')))
    passed = complete(client, start(client, "dk_su_kien")["openTasks"][0]["id"], {"daDuyet": True})
    assert _open(passed) == ["u"]
    waiting = complete(client, start(client, "dk_su_kien")["openTasks"][0]["id"], {"daDuyet": False})
    assert _open(waiting) == [] and [w["elementId"] for w in waiting["waitingFor"]] == ["cho_duyet"]


def test_candidate_groups_users_and_due_date_as_expressions(client):
    deploy(client, ("bt.bpmn", _doc("bt", '''
<bpmn:startEvent id="start"/>
<bpmn:userTask id="xu_ly" camunda:candidateGroups="${donVi}, van_thu" camunda:candidateUsers="=nguoiXuLy"
    camunda:dueDate="${hanXuLy}"/>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="xu_ly"/>
<bpmn:sequenceFlow id="f2" sourceRef="xu_ly" targetRef="end"/>''')))
    task = start(client, "bt", variables={"donVi": "phong_nghiep_vu", "nguoiXuLy": ["an", "binh"],
                                          "hanXuLy": "2027-01-15T09:00:00+07:00"})["openTasks"][0]
    assert task["candidateGroups"] == ["phong_nghiep_vu", "van_thu"]
    assert task["candidateUsers"] == ["an", "binh"]
    assert datetime.fromisoformat(task["dueAt"]) == datetime(2027, 1, 15, 2, 0, tzinfo=UTC)
    listed = client.get("/api/v1/tasks", params={"candidateGroup": "phong_nghiep_vu"}).json()
    assert [t["id"] for t in listed] == [task["id"]]
    bare = start(client, "bt")["openTasks"][0]
    assert bare["candidateGroups"] == ["van_thu"] and bare["candidateUsers"] == [] and bare["dueAt"] is None


ZEEBE = "http://camunda.org/schema/zeebe/1.0"


def test_camunda_8_diagram_with_zeebe_task_attributes(client):
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
           f'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="{ZEEBE}" '
           'id="defs_c8" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" '
           'exporterVersion="5.20.0"><bpmn:process id="c8" name="Camunda 8">'
           '<bpmn:startEvent id="start"/>'
           '<bpmn:userTask id="duyet" name="Duyệt"><bpmn:extensionElements>'
           '<zeebe:assignmentDefinition assignee="=nguoiNop" candidateGroups="=[donVi, &quot;lanh_dao&quot;]"/>'
           '<zeebe:taskSchedule dueDate="=han"/><zeebe:formDefinition formKey="duyet-form"/>'
           '<zeebe:properties><zeebe:property name="muc" value="cao"/></zeebe:properties>'
           '</bpmn:extensionElements></bpmn:userTask>'
           '<bpmn:exclusiveGateway id="gw" default="khong"/>'
           '<bpmn:endEvent id="xong"/><bpmn:userTask id="sua"/><bpmn:endEvent id="het"/>'
           '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="duyet"/>'
           '<bpmn:sequenceFlow id="f2" sourceRef="duyet" targetRef="gw"/>'
           '<bpmn:sequenceFlow id="co" sourceRef="gw" targetRef="xong"><bpmn:conditionExpression '
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="bpmn:tFormalExpression">'
           '= dongY = true and soTrang &lt;= 10</bpmn:conditionExpression></bpmn:sequenceFlow>'
           '<bpmn:sequenceFlow id="khong" sourceRef="gw" targetRef="sua"/>'
           '<bpmn:sequenceFlow id="f5" sourceRef="sua" targetRef="het"/>'
           '</bpmn:process></bpmn:definitions>')
    deploy(client, ("c8.bpmn", xml.encode()))
    instance = start(client, "c8", variables={"nguoiNop": "chi", "donVi": "phong_a", "han": "2027-02-01T00:00:00Z"})
    task = client.get(f"/api/v1/tasks/{instance['openTasks'][0]['id']}").json()
    assert task["assignee"] == "chi" and task["candidateGroups"] == ["phong_a", "lanh_dao"]
    assert task["form"]["key"] == "duyet-form" and task["properties"] == {"muc": "cao"}
    assert datetime.fromisoformat(task["dueAt"]) == datetime(2027, 2, 1, tzinfo=UTC)
    assert complete(client, task["id"], {"dongY": True, "soTrang": 3})["status"] == "completed"
    again = start(client, "c8", variables={"nguoiNop": "chi", "donVi": "phong_a"})
    assert _open(complete(client, again["openTasks"][0]["id"], {"dongY": True, "soTrang": 30})) == ["sua"]


def test_default_flow_out_of_a_task_is_taken_only_when_no_condition_holds(client):
    deploy(client, ("mac_dinh.bpmn", _doc("mac_dinh", '''
<bpmn:startEvent id="start"/><bpmn:userTask id="a" default="to_other"/><bpmn:userTask id="flagged"/>
<bpmn:userTask id="other"/><bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>
<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="a"/>
<bpmn:sequenceFlow id="to_flagged" sourceRef="a" targetRef="flagged">
  <bpmn:conditionExpression>${flag}</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="to_other" sourceRef="a" targetRef="other"/>
<bpmn:sequenceFlow id="f3" sourceRef="flagged" targetRef="e1"/>
<bpmn:sequenceFlow id="f4" sourceRef="other" targetRef="e2"/>''')))
    assert _open(complete(client, start(client, "mac_dinh")["openTasks"][0]["id"], {"flag": True})) == ["flagged"]
    assert _open(complete(client, start(client, "mac_dinh")["openTasks"][0]["id"], {"flag": False})) == ["other"]
