"""Draw a BPMN diagram as SVG from its BPMNDI layout, optionally coloured by where an instance's tokens are."""

import math
from dataclasses import dataclass

from lxml import etree

from app.engine.xml_safety import Limits, read_xml
from app.errors import InvalidInput

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
SVG = "http://www.w3.org/2000/svg"

MARGIN = 20.0
FONT_SIZE = 12.0
LINE_HEIGHT = 14.0
CHAR_WIDTH = FONT_SIZE * 0.55  # average glyph width of a sans-serif face; enough to wrap labels sensibly

_ACTIVITIES = {"task", "userTask", "serviceTask", "scriptTask", "manualTask", "businessRuleTask", "sendTask",
               "receiveTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"}
_EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
_GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
_GATEWAY_MARKS = {"exclusiveGateway": "×", "parallelGateway": "+", "complexGateway": "*"}
_EVENT_MARKS = {"messageEventDefinition": "✉", "timerEventDefinition": "◷", "signalEventDefinition": "△",
                "errorEventDefinition": "ϟ", "escalationEventDefinition": "⇑", "conditionalEventDefinition": "≡",
                "compensateEventDefinition": "⏪", "linkEventDefinition": "→", "terminateEventDefinition": "●",
                "cancelEventDefinition": "✕"}
_TASK_MARKS = {"userTask": "👤", "serviceTask": "⚙", "scriptTask": "✎", "manualTask": "✋",
               "businessRuleTask": "▦", "sendTask": "✉", "receiveTask": "✉"}
_CONTAINERS = {"participant", "lane"}

STYLE = """
.shape{fill:#fff;stroke:#222;stroke-width:1.5}
.container{fill:none;stroke:#222;stroke-width:1.5}
.label{font-family:'DejaVu Sans',Arial,sans-serif;font-size:12px;fill:#222}
.mark{font-family:'DejaVu Sans',Arial,sans-serif;fill:#222}
.flow{fill:none;stroke:#222;stroke-width:1.5}
.message-flow{stroke-dasharray:8 5}
.association{stroke-dasharray:2 4}
.end .shape{stroke-width:4}
.completed .shape,.completed.flow{stroke:#2e7d32}
.completed .shape{fill:#e3f4e3}
.active .shape{fill:#fff3cd;stroke:#e65100;stroke-width:3}
.pending .shape,.pending.flow{stroke:#9e9e9e}
.pending .label,.pending .mark{fill:#9e9e9e}
"""


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float


def render_svg(xml: str | bytes, process_id: str | None = None, states: dict[str, str] | None = None) -> str:
    """The diagram drawn for `process_id` (its own plane, or the collaboration holding it).

    `states` maps element ids to 'completed' or 'active'; when given, every other element is drawn as
    pending (grey). Raises InvalidInput `diagram_has_no_layout` when the file has no BPMNDI to draw.
    """
    content = xml.encode() if isinstance(xml, str) else xml
    root = read_xml("diagram.bpmn", content, Limits(max_bytes=max(len(content), 1)))
    model = {el.get("id"): el for el in root.iter(f"{{{BPMN}}}*") if el.get("id")}
    plane = _choose_plane(root, model, process_id)
    if plane is None:
        raise InvalidInput("Sơ đồ không có phần bố cục (BPMNDI) nên không vẽ được; hãy lưu lại sơ đồ bằng "
                           "một công cụ vẽ BPMN (bpmn.io, Camunda Modeler) để có tọa độ các phần tử",
                           code="diagram_has_no_layout", field="id")
    return _Drawing(model, states).draw(plane)


def _choose_plane(root: etree._Element, model: dict[str, etree._Element], process_id: str | None):
    planes = [p for p in root.iter(f"{{{BPMNDI}}}BPMNPlane") if p.find(f"{{{BPMNDI}}}BPMNShape") is not None]
    if not planes:
        return None
    if process_id:
        for plane in planes:
            target = model.get(plane.get("bpmnElement") or "")
            if plane.get("bpmnElement") == process_id:
                return plane
            if target is not None and _local(target) == "collaboration" and any(
                    p.get("processRef") == process_id for p in target.iter(f"{{{BPMN}}}participant")):
                return plane
    return planes[0]


class _Drawing:
    def __init__(self, model: dict[str, etree._Element], states: dict[str, str] | None) -> None:
        self.model = model
        self.states = states

    def draw(self, plane: etree._Element) -> str:
        shapes = list(plane.iter(f"{{{BPMNDI}}}BPMNShape"))
        edges = list(plane.iter(f"{{{BPMNDI}}}BPMNEdge"))
        boxes = [b for b in (_bounds(s) for s in shapes) if b is not None]
        points = [p for e in edges for p in _waypoints(e)]
        xs = [b.x for b in boxes] + [b.x + b.w for b in boxes] + [p[0] for p in points]
        ys = [b.y for b in boxes] + [b.y + b.h for b in boxes] + [p[1] for p in points]
        if not xs:
            raise InvalidInput("Phần bố cục (BPMNDI) của sơ đồ không có tọa độ hợp lệ nên không vẽ được",
                               code="diagram_has_no_layout", field="id")
        min_x, min_y = min(xs) - MARGIN, min(ys) - MARGIN
        width, height = max(xs) - min_x + MARGIN, max(ys) - min_y + MARGIN
        svg = etree.Element(f"{{{SVG}}}svg", nsmap={None: SVG})
        svg.set("viewBox", f"{_n(min_x)} {_n(min_y)} {_n(width)} {_n(height)}")
        svg.set("width", _n(width))
        svg.set("height", _n(height))
        etree.SubElement(svg, f"{{{SVG}}}style").text = STYLE
        self._markers(svg)
        # Containers first and the largest at the bottom, so pools, lanes and expanded subprocesses
        # never hide what sits inside them; edges last so arrowheads stay visible.
        def order(shape: etree._Element) -> tuple[int, float]:
            element = self.model.get(shape.get("bpmnElement") or "")
            kind = _local(element) if element is not None else ""
            box = _bounds(shape)
            container = kind in _CONTAINERS or (kind in _ACTIVITIES and shape.get("isExpanded") == "true")
            return (0 if container else 1, -(box.w * box.h) if box else 0.0)

        for shape in sorted(shapes, key=order):
            self._shape(svg, shape)
        for edge in edges:
            self._edge(svg, edge)
        return etree.tostring(svg, encoding="unicode")

    # --- pieces ---------------------------------------------------------------------------------

    def _group(self, parent: etree._Element, di: etree._Element, element: etree._Element | None,
               kind: str, element_id: str) -> etree._Element:
        group = etree.SubElement(parent, f"{{{SVG}}}g")
        group.set("data-element-id", element_id)
        group.set("data-element-type", kind)
        classes = ["element", "end" if kind == "endEvent" else ""]
        state = self._state(element_id, kind)
        if state:
            classes.append(state)
            group.set("data-state", state)
        group.set("class", " ".join(c for c in classes if c))
        name = element.get("name") if element is not None else None
        if name:
            etree.SubElement(group, f"{{{SVG}}}title").text = name
        return group

    def _state(self, element_id: str, kind: str) -> str | None:
        if self.states is None or kind in _CONTAINERS or kind in ("textAnnotation", "group"):
            return None
        return self.states.get(element_id, "pending")

    def _shape(self, svg: etree._Element, di: etree._Element) -> None:
        box = _bounds(di)
        element_id = di.get("bpmnElement") or ""
        if box is None:
            return
        element = self.model.get(element_id)
        kind = _local(element) if element is not None else "unknown"
        group = self._group(svg, di, element, kind, element_id)
        name = (element.get("name") if element is not None else None) or ""
        label_box = _bounds(di.find(f"{{{BPMNDI}}}BPMNLabel"))
        if kind in ("participant", "lane"):
            _rect(group, box, "container")
            if di.get("isHorizontal") == "false":  # a vertical pool or lane: its name band runs along the top
                band = Box(box.x, box.y, box.w, 30.0)
                _rect(group, band, "container")
                _text(group, band, name)
            else:
                band = Box(box.x, box.y, 30.0, box.h)
                _rect(group, band, "container")
                _vertical_text(group, band, name)
        elif kind in _ACTIVITIES:
            expanded = di.get("isExpanded") == "true"
            rect = _rect(group, box, "shape", radius=10)
            if kind in ("callActivity", "transaction"):
                rect.set("style", "stroke-width:3")
            if expanded:
                _text(group, Box(box.x + 5, box.y + 5, box.w - 10, LINE_HEIGHT * 2), name, anchor_top=True)
            else:
                _text(group, label_box or Box(box.x + 4, box.y + 4, box.w - 8, box.h - 8), name)
                if kind in ("subProcess", "adHocSubProcess", "callActivity"):
                    _mark(group, box.x + box.w / 2, box.y + box.h - 4, "⊞", 12)
            if kind in _TASK_MARKS:
                _mark(group, box.x + 12, box.y + 16, _TASK_MARKS[kind], 12)
        elif kind in _EVENTS:
            cx, cy, r = box.x + box.w / 2, box.y + box.h / 2, min(box.w, box.h) / 2
            _circle(group, cx, cy, r, "shape")
            if kind in ("intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"):
                _circle(group, cx, cy, max(r - 3, 1), "shape").set("style", "fill:none")
            if element is not None and element.get("cancelActivity") == "false":
                group[-1].set("stroke-dasharray", "4 3")
            definition = next((_local(c) for c in element if _local(c) in _EVENT_MARKS), None) \
                if element is not None else None
            if definition:
                _mark(group, cx, cy + r * 0.35, _EVENT_MARKS[definition], r * 1.0)
            _text(group, label_box or Box(cx - 50, box.y + box.h + 2, 100, LINE_HEIGHT * 3), name,
                  anchor_top=True)
        elif kind in _GATEWAYS:
            cx, cy = box.x + box.w / 2, box.y + box.h / 2
            diamond = etree.SubElement(group, f"{{{SVG}}}polygon")
            diamond.set("points", " ".join(f"{_n(x)},{_n(y)}" for x, y in (
                (cx, box.y), (box.x + box.w, cy), (cx, box.y + box.h), (box.x, cy))))
            diamond.set("class", "shape")
            if kind in _GATEWAY_MARKS:
                _mark(group, cx, cy + box.h * 0.2, _GATEWAY_MARKS[kind], box.h * 0.6)
            elif kind == "inclusiveGateway":
                _circle(group, cx, cy, box.w * 0.22, "shape").set("style", "fill:none;stroke-width:2.5")
            else:  # event-based: a circle around a pentagon
                _circle(group, cx, cy, box.w * 0.25, "shape").set("style", "fill:none")
                _polygon_marker(group, cx, cy, box.w * 0.14, 5)
            _text(group, label_box or Box(cx - 50, box.y + box.h + 2, 100, LINE_HEIGHT * 3), name,
                  anchor_top=True)
        elif kind == "textAnnotation":
            bracket = etree.SubElement(group, f"{{{SVG}}}path")
            bracket.set("d", f"M {_n(box.x + 10)} {_n(box.y)} L {_n(box.x)} {_n(box.y)} "
                             f"L {_n(box.x)} {_n(box.y + box.h)} L {_n(box.x + 10)} {_n(box.y + box.h)}")
            bracket.set("class", "container")
            text = element.findtext(f"{{{BPMN}}}text") if element is not None else None
            _text(group, Box(box.x + 5, box.y + 2, box.w - 6, box.h - 4), (text or "").strip(), anchor_top=True,
                  align_left=True)
        elif kind == "group":
            _rect(group, box, "container", radius=10).set("stroke-dasharray", "8 4 2 4")
        elif kind in ("dataObjectReference", "dataObject", "dataInput", "dataOutput"):
            fold = min(box.w, box.h) * 0.3
            page = etree.SubElement(group, f"{{{SVG}}}path")
            page.set("d", f"M {_n(box.x)} {_n(box.y)} L {_n(box.x + box.w - fold)} {_n(box.y)} "
                          f"L {_n(box.x + box.w)} {_n(box.y + fold)} L {_n(box.x + box.w)} {_n(box.y + box.h)} "
                          f"L {_n(box.x)} {_n(box.y + box.h)} Z")
            page.set("class", "shape")
            _text(group, label_box or Box(box.x - 30, box.y + box.h + 2, box.w + 60, LINE_HEIGHT * 3), name,
                  anchor_top=True)
        elif kind == "dataStoreReference":
            _rect(group, box, "shape", radius=6)
            _text(group, label_box or Box(box.x - 30, box.y + box.h + 2, box.w + 60, LINE_HEIGHT * 3), name,
                  anchor_top=True)
        else:
            _rect(group, box, "shape")
            _text(group, label_box or box, name)

    def _edge(self, svg: etree._Element, di: etree._Element) -> None:
        points = _waypoints(di)
        if len(points) < 2:
            return
        element_id = di.get("bpmnElement") or ""
        element = self.model.get(element_id)
        kind = _local(element) if element is not None else "unknown"
        group = etree.SubElement(svg, f"{{{SVG}}}g")
        group.set("data-element-id", element_id)
        group.set("data-element-type", kind)
        line = etree.SubElement(group, f"{{{SVG}}}polyline")
        line.set("points", " ".join(f"{_n(x)},{_n(y)}" for x, y in points))
        classes = ["flow"]
        if kind == "messageFlow":
            classes.append("message-flow")
            line.set("marker-start", "url(#message-start)")
            line.set("marker-end", "url(#message-end)")
        elif kind in ("association", "dataInputAssociation", "dataOutputAssociation"):
            if kind == "association":
                classes.append("association")
            if kind != "association" or (element is not None and element.get("associationDirection") == "One"):
                line.set("marker-end", "url(#open-arrow)")
        else:
            line.set("marker-end", "url(#arrow)")
        state = self._flow_state(element, kind)
        if state:
            classes.append(state)
            group.set("data-state", state)
        line.set("class", " ".join(classes))
        name = element.get("name") if element is not None else None
        if name:
            etree.SubElement(group, f"{{{SVG}}}title").text = name
            label_box = _bounds(di.find(f"{{{BPMNDI}}}BPMNLabel"))
            if label_box is None:
                (x1, y1), (x2, y2) = points[len(points) // 2 - 1], points[len(points) // 2]
                label_box = Box((x1 + x2) / 2 - 50, (y1 + y2) / 2 - LINE_HEIGHT * 1.5, 100, LINE_HEIGHT * 3)
            _text(group, label_box, name)

    def _flow_state(self, element: etree._Element | None, kind: str) -> str | None:
        if self.states is None or kind != "sequenceFlow" or element is None:
            return None
        source = self.states.get(element.get("sourceRef") or "")
        target = self.states.get(element.get("targetRef") or "")
        return "completed" if source == "completed" and target in ("completed", "active") else "pending"

    @staticmethod
    def _markers(svg: etree._Element) -> None:
        defs = etree.SubElement(svg, f"{{{SVG}}}defs")
        for marker_id, path, fill in (("arrow", "M 0 0 L 10 5 L 0 10 Z", "#222"),
                                      ("open-arrow", "M 0 0 L 10 5 L 0 10", "none"),
                                      ("message-end", "M 0 0 L 10 5 L 0 10 Z", "#fff")):
            marker = etree.SubElement(defs, f"{{{SVG}}}marker")
            for key, value in (("id", marker_id), ("viewBox", "0 0 10 10"), ("refX", "10"), ("refY", "5"),
                               ("markerWidth", "8"), ("markerHeight", "8"), ("orient", "auto-start-reverse")):
                marker.set(key, value)
            shape = etree.SubElement(marker, f"{{{SVG}}}path")
            shape.set("d", path)
            shape.set("style", f"fill:{fill};stroke:#222;stroke-width:1")
        start = etree.SubElement(defs, f"{{{SVG}}}marker")
        for key, value in (("id", "message-start"), ("viewBox", "0 0 10 10"), ("refX", "5"), ("refY", "5"),
                           ("markerWidth", "7"), ("markerHeight", "7")):
            start.set(key, value)
        dot = etree.SubElement(start, f"{{{SVG}}}circle")
        for key, value in (("cx", "5"), ("cy", "5"), ("r", "4"), ("style", "fill:#fff;stroke:#222")):
            dot.set(key, value)


# --- drawing helpers ------------------------------------------------------------------------------

def _rect(parent: etree._Element, box: Box, css: str, radius: float = 0) -> etree._Element:
    rect = etree.SubElement(parent, f"{{{SVG}}}rect")
    for key, value in (("x", box.x), ("y", box.y), ("width", box.w), ("height", box.h)):
        rect.set(key, _n(value))
    if radius:
        rect.set("rx", _n(radius))
    rect.set("class", css)
    return rect


def _circle(parent: etree._Element, cx: float, cy: float, r: float, css: str) -> etree._Element:
    circle = etree.SubElement(parent, f"{{{SVG}}}circle")
    circle.set("cx", _n(cx))
    circle.set("cy", _n(cy))
    circle.set("r", _n(r))
    circle.set("class", css)
    return circle


def _polygon_marker(parent: etree._Element, cx: float, cy: float, r: float, sides: int) -> None:
    polygon = etree.SubElement(parent, f"{{{SVG}}}polygon")
    polygon.set("points", " ".join(
        f"{_n(cx + r * math.sin(2 * math.pi * i / sides))},{_n(cy - r * math.cos(2 * math.pi * i / sides))}"
        for i in range(sides)))
    polygon.set("class", "shape")
    polygon.set("style", "fill:none")


def _mark(parent: etree._Element, x: float, y: float, glyph: str, size: float) -> None:
    text = etree.SubElement(parent, f"{{{SVG}}}text")
    text.set("x", _n(x))
    text.set("y", _n(y))
    text.set("text-anchor", "middle")
    text.set("font-size", _n(size))
    text.set("class", "mark")
    text.text = glyph


def _text(parent: etree._Element, box: Box, content: str, anchor_top: bool = False,
          align_left: bool = False) -> None:
    if not content:
        return
    lines = wrap(content, box.w)
    max_lines = max(1, int(box.h // LINE_HEIGHT)) if not anchor_top else max(1, len(lines))
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip()[: max(1, len(lines[-1]) - 1)] + "…"
    block = len(lines) * LINE_HEIGHT
    top = box.y if anchor_top else box.y + (box.h - block) / 2
    text = etree.SubElement(parent, f"{{{SVG}}}text")
    text.set("class", "label")
    text.set("text-anchor", "start" if align_left else "middle")
    x = box.x if align_left else box.x + box.w / 2
    for i, line in enumerate(lines):
        span = etree.SubElement(text, f"{{{SVG}}}tspan")
        span.set("x", _n(x))
        span.set("y", _n(top + (i + 1) * LINE_HEIGHT - 3))
        span.text = line


def _vertical_text(parent: etree._Element, band: Box, content: str) -> None:
    if not content:
        return
    cx, cy = band.x + band.w / 2, band.y + band.h / 2
    lines = wrap(content, band.h - 10)[:2]
    text = etree.SubElement(parent, f"{{{SVG}}}text")
    text.set("class", "label")
    text.set("text-anchor", "middle")
    text.set("transform", f"rotate(-90 {_n(cx)} {_n(cy)})")
    for i, line in enumerate(lines):
        span = etree.SubElement(text, f"{{{SVG}}}tspan")
        span.set("x", _n(cx))
        span.set("y", _n(cy + 4 + (i - (len(lines) - 1) / 2) * LINE_HEIGHT))
        span.text = line


def wrap(content: str, width: float) -> list[str]:
    """Greedy word wrap by estimated glyph width; a word longer than a line is cut."""
    per_line = max(3, int(width // CHAR_WIDTH))
    lines: list[str] = []
    for paragraph in content.splitlines() or [""]:
        current = ""
        for word in paragraph.split():
            while len(word) > per_line:
                if current:
                    lines.append(current)
                    current = ""
                lines.append(word[:per_line])
                word = word[per_line:]
            candidate = f"{current} {word}" if current else word
            if len(candidate) > per_line:
                lines.append(current)
                current = word
            else:
                current = candidate
        if current:
            lines.append(current)
    return lines


def _bounds(di: etree._Element | None) -> Box | None:
    if di is None:
        return None
    bounds = di.find(f"{{{DC}}}Bounds")
    if bounds is None:
        return None
    try:
        box = Box(*(float(bounds.get(k, "")) for k in ("x", "y", "width", "height")))
    except ValueError:
        return None
    return box if all(math.isfinite(v) for v in (box.x, box.y, box.w, box.h)) else None


def _waypoints(di: etree._Element) -> list[tuple[float, float]]:
    points = []
    for point in di.iter(f"{{{DI}}}waypoint"):
        try:
            x, y = float(point.get("x", "")), float(point.get("y", ""))
        except ValueError:
            continue
        if math.isfinite(x) and math.isfinite(y):
            points.append((x, y))
    return points


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")
