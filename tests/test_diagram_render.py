"""The SVG renderer on its own: collaboration constructs the API tests' process diagrams do not have."""

import pytest
from lxml import etree

from app.engine.diagram_svg import render_svg, wrap
from app.errors import InvalidInput

SVG = "{http://www.w3.org/2000/svg}"

COLLABORATION = '''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="D" targetNamespace="x">
  <bpmn:collaboration id="collab">
    <bpmn:participant id="citizen" name="Công dân" processRef="p_citizen"/>
    <bpmn:participant id="office" name="Bộ phận Một cửa" processRef="p_office"/>
    <bpmn:messageFlow id="mf" name="Nộp hồ sơ" sourceRef="send" targetRef="receive"/>
    <bpmn:textAnnotation id="note"><bpmn:text>Theo Nghị định 118</bpmn:text></bpmn:textAnnotation>
    <bpmn:association id="assoc" sourceRef="receive" targetRef="note"/>
  </bpmn:collaboration>
  <bpmn:process id="p_citizen"><bpmn:sendTask id="send" name="Gửi"/></bpmn:process>
  <bpmn:process id="p_office" isExecutable="true">
    <bpmn:startEvent id="receive" name="Nhận"><bpmn:messageEventDefinition/></bpmn:startEvent>
    <bpmn:parallelGateway id="split"/>
    <bpmn:sequenceFlow id="sf" sourceRef="receive" targetRef="split"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="dia"><bpmndi:BPMNPlane id="plane" bpmnElement="collab">
    <bpmndi:BPMNShape id="citizen_di" bpmnElement="citizen" isHorizontal="false">
      <dc:Bounds x="0" y="0" width="200" height="400"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="office_di" bpmnElement="office" isHorizontal="true">
      <dc:Bounds x="300" y="0" width="600" height="200"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="send_di" bpmnElement="send"><dc:Bounds x="50" y="100" width="100" height="80"/>
      </bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="receive_di" bpmnElement="receive"><dc:Bounds x="400" y="82" width="36" height="36"/>
      <bpmndi:BPMNLabel><dc:Bounds x="390" y="125" width="56" height="14"/></bpmndi:BPMNLabel></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="split_di" bpmnElement="split"><dc:Bounds x="500" y="75" width="50" height="50"/>
      </bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="note_di" bpmnElement="note"><dc:Bounds x="600" y="250" width="150" height="40"/>
      </bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="mf_di" bpmnElement="mf"><di:waypoint x="150" y="140"/><di:waypoint x="400" y="100"/>
      </bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="sf_di" bpmnElement="sf"><di:waypoint x="436" y="100"/><di:waypoint x="500" y="100"/>
      </bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="assoc_di" bpmnElement="assoc"><di:waypoint x="420" y="118"/>
      <di:waypoint x="600" y="270"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
'''.encode()


def groups(svg: str) -> dict[str, etree._Element]:
    root = etree.fromstring(svg.encode())
    return {g.get("data-element-id"): g for g in root.iter(f"{SVG}g")}


def text_of(group: etree._Element) -> str:
    return " ".join(t.text or "" for t in group.iter(f"{SVG}tspan"))


def test_collaboration_pools_message_flows_and_annotations():
    drawn = groups(render_svg(COLLABORATION, "p_office"))
    assert set(drawn) == {"citizen", "office", "send", "receive", "split", "note", "mf", "sf", "assoc"}
    # Pools come first so nothing inside them is hidden.
    assert set(list(drawn)[:2]) == {"citizen", "office"}
    vertical = drawn["citizen"].find(f"{SVG}text")
    assert vertical.get("transform") is None and text_of(drawn["citizen"]) == "Công dân"
    assert drawn["office"].find(f"{SVG}text").get("transform").startswith("rotate(-90")
    message = drawn["mf"].find(f"{SVG}polyline")
    assert "message-flow" in message.get("class") and message.get("marker-end") == "url(#message-end)"
    assert drawn["sf"].find(f"{SVG}polyline").get("marker-end") == "url(#arrow)"
    assert drawn["assoc"].find(f"{SVG}polyline").get("marker-end") is None
    assert text_of(drawn["note"]) == "Theo Nghị định 118"
    assert [m.text for m in drawn["split"].iter(f"{SVG}text")] == ["+"]
    assert len(drawn["receive"].findall(f"{SVG}circle")) == 1  # a start event has a single thin ring
    label = drawn["receive"].find(f"{SVG}text/{SVG}tspan")
    assert float(label.get("y")) > 125  # drawn inside its BPMNLabel bounds, under the event
    assert text_of(drawn["mf"]) == "Nộp hồ sơ"


def test_states_colour_elements_and_grey_the_rest():
    drawn = groups(render_svg(COLLABORATION, "p_office", {"receive": "completed", "split": "active"}))
    assert (drawn["receive"].get("data-state"), drawn["split"].get("data-state")) == ("completed", "active")
    assert drawn["send"].get("data-state") == "pending"
    assert drawn["sf"].get("data-state") == "completed"
    assert drawn["office"].get("data-state") is None and drawn["note"].get("data-state") is None


def test_no_layout_and_broken_layout_are_refused():
    without = COLLABORATION.split(b"<bpmndi:BPMNDiagram")[0] + b"</bpmn:definitions>"
    with pytest.raises(InvalidInput) as no_di:
        render_svg(without)
    assert no_di.value.code == "diagram_has_no_layout"
    broken = COLLABORATION.replace(b'x="', b'x="NaN')
    with pytest.raises(InvalidInput) as bad:
        render_svg(broken)
    assert bad.value.code == "diagram_has_no_layout"


def test_wrap_keeps_words_and_cuts_only_overlong_ones():
    assert wrap("Kiểm tra, tiếp nhận hồ sơ", 70) == ["Kiểm tra,", "tiếp nhận", "hồ sơ"]
    assert wrap("a" * 25, 70) == ["a" * 10, "a" * 10, "a" * 5]
    assert wrap("", 100) == []
