"""BPMN documents with a BPMNDI layout, built in code, the way bpmn.io lays out a row of tasks."""

from xml.sax.saxutils import quoteattr

HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n'
          '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
          'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
          'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" '
          'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_{key}" '
          'targetNamespace="http://bpmn.io/schema/bpmn">\n')


def row(key: str, tasks: tuple[str, ...] = ("a", "b", "c"), names: dict[str, str] | None = None,
        process_name: str = "Quy trình có bố cục") -> bytes:
    """start -> user tasks in a row -> end, with shapes and edges for every element."""
    names = names or {}
    nodes = ['<bpmn:startEvent id="start" name="Bắt đầu"/>']
    flows: list[tuple[str, str, str]] = []
    previous = "start"
    for task in tasks:
        name = quoteattr(names.get(task, f"Bước {task}"))
        nodes.append(f'<bpmn:userTask id="{task}" name={name} camunda:candidateGroups="clerk"/>')
        flows.append((f"flow_{previous}_{task}", previous, task))
        previous = task
    nodes.append('<bpmn:endEvent id="end" name="Kết thúc"/>')
    flows.append((f"flow_{previous}_end", previous, "end"))
    body = "\n".join(nodes + [f'<bpmn:sequenceFlow id="{f}" sourceRef="{s}" targetRef="{t}"/>' for f, s, t in flows])

    boxes = {"start": (100, 122, 36, 36)}
    for i, task in enumerate(tasks):
        boxes[task] = (200 + 160 * i, 100, 100, 80)
    boxes["end"] = (200 + 160 * len(tasks), 122, 36, 36)
    shapes = []
    for element_id, (x, y, w, h) in boxes.items():
        label = (f'<bpmndi:BPMNLabel><dc:Bounds x="{x - 10}" y="{y + h + 5}" width="{w + 20}" height="14"/>'
                 '</bpmndi:BPMNLabel>') if element_id in ("start", "end") else ""
        shapes.append(f'<bpmndi:BPMNShape id="{element_id}_di" bpmnElement="{element_id}">'
                      f'<dc:Bounds x="{x}" y="{y}" width="{w}" height="{h}"/>{label}</bpmndi:BPMNShape>')
    edges = []
    for flow_id, source, target in flows:
        sx, sy, sw, sh = boxes[source]
        tx, ty, _tw, th = boxes[target]
        edges.append(f'<bpmndi:BPMNEdge id="{flow_id}_di" bpmnElement="{flow_id}">'
                     f'<di:waypoint x="{sx + sw}" y="{sy + sh / 2}"/><di:waypoint x="{tx}" y="{ty + th / 2}"/>'
                     '</bpmndi:BPMNEdge>')
    return (HEADER.format(key=key)
            + f'<bpmn:process id="{key}" name={quoteattr(process_name)} isExecutable="true">\n{body}\n'
              '</bpmn:process>\n'
            + f'<bpmndi:BPMNDiagram id="Diagram_{key}"><bpmndi:BPMNPlane id="Plane_{key}" bpmnElement="{key}">'
            + "".join(shapes + edges)
            + '</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>\n</bpmn:definitions>\n').encode()
