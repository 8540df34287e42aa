"""Rewrite a modeler's BPMN tree into the subset SpiffWorkflow runs, or list every construct it cannot run.

Runs on the safe lxml tree (app.engine.xml_safety) before CamundaParser. Rewrites only what BPMN
defines unambiguously (implicit split/join, a subprocess started by its un-entered activities) or what
Camunda ignores at run time too (data objects and stores, documentation); expressions in JUEL or FEEL
become Python. Inserted gateways have no BPMNDI shape: the diagram still draws as the author drew it.
"""

from dataclasses import dataclass, field

from lxml import etree

from app.engine import dialects
from app.errors import InvalidDiagram, Problem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
DI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}

CONTAINERS = {"process", "subProcess", "transaction"}
ACTIVITIES = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
              "businessRuleTask", "callActivity", "subProcess", "transaction"}
EVENTS = {"startEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
# Camunda 7 ignores these at run time; SpiffWorkflow would move data objects in and out of task data
# (and refuses data stores without an implementation), which a drawing never meant.
DATA_ONLY = {"dataStore", "dataStoreReference", "dataObject", "dataObjectReference", "dataInputAssociation",
             "dataOutputAssociation", "property"}
# Elements we insert are named after the drawn element they stand for, with this marker in between.
INSERTED = "__motcua_"
PYTHON_SCRIPTS = {"", "python", "py", "text/x-python", "application/x-python"}


def drawn_id(element_id: str | None) -> str | None:
    """The id of the element the author drew, for an element the normaliser inserted next to it."""
    return element_id.split(INSERTED, 1)[0] if element_id else element_id


def _tag(local: str) -> str:
    return f"{{{BPMN_NS}}}{local}"


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


@dataclass
class Normalised:
    """What was rewritten (for the deployment log and tests)."""

    changes: list[str] = field(default_factory=list)


def normalise(tree: etree._ElementTree, filename: str) -> Normalised:
    """Rewrite `tree` in place; raise InvalidDiagram listing every construct that still cannot run."""
    root = tree.getroot()
    result = Normalised()
    ids = {node.get("id") for node in root.iter() if isinstance(node.tag, str) and node.get("id")}
    _mark_single_process_executable(root, result)
    _drop_data_only(root, result)
    problems: list[Problem] = []
    # Processes not marked executable are not parsed; parse_files says so if none is.
    for process in root.findall("bpmn:process", NS):
        if process.get("isExecutable", "true") != "true":  # SpiffWorkflow reads a missing flag as true
            _quiet_non_executable(process)
            continue
        problems += _translate_expressions(process)
        for container in [n for n in process.iter() if _local(n) in CONTAINERS and etree.QName(n).namespace == BPMN_NS]:
            if _local(container) != "process":
                _start_subprocess(container, ids, result)
            _implicit_splits(container, ids, result)
            _implicit_joins(container, ids, result)
        problems += _unsupported(process)
    if problems:
        listed = "; ".join(f"[{p.element_id}] {p.message}" for p in problems[:10])
        more = f" (và {len(problems) - 10} vấn đề khác)" if len(problems) > 10 else ""
        raise InvalidDiagram(f"'{filename}': {len(problems)} phần tử chưa chạy được: {listed}{more}",
                             code=problems[0].code, element_id=problems[0].element_id, problems=problems)
    return result


def _mark_single_process_executable(root: etree._Element, result: Normalised) -> None:
    """bpmn.io omits isExecutable on drafts; a lone process without the flag is meant to run."""
    processes = root.findall("bpmn:process", NS)
    if len(processes) == 1 and processes[0].get("isExecutable") is None:
        processes[0].set("isExecutable", "true")
        result.changes.append(f"{processes[0].get('id')}: isExecutable=true")


def _quiet_non_executable(process: etree._Element) -> None:
    """SpiffWorkflow looks up the decision of every business rule task in the file, even in processes it
    will never run; without this a draft pool fails on a missing decisionRef instead of "not executable"."""
    for task in process.iter(_tag("businessRuleTask")):
        if task.get(f"{{{CAMUNDA_NS}}}decisionRef") is None:
            task.tag = _tag("task")


def _drop_data_only(root: etree._Element, result: Normalised) -> None:
    removed: set[str] = set()
    for node in [n for n in root.iter() if _local(n) in DATA_ONLY and etree.QName(n).namespace == BPMN_NS]:
        if node.getparent() is None:
            continue
        if node.get("id"):
            removed.add(node.get("id"))
        node.getparent().remove(node)
    for association in list(root.iter(_tag("association"))):
        if association.get("sourceRef") in removed or association.get("targetRef") in removed:
            removed.add(association.get("id") or "")
            association.getparent().remove(association)
    for di in [n for n in root.iter() if isinstance(n.tag, str) and etree.QName(n).namespace == DI_NS]:
        if di.get("bpmnElement") in removed and di.getparent() is not None:
            di.getparent().remove(di)
    if removed:
        result.changes.append(f"bỏ {len(removed)} phần tử dữ liệu chỉ để minh hoạ")


def _owner_id(node: etree._Element) -> str | None:
    while node is not None and node.get("id") is None:
        node = node.getparent()
    return node.get("id") if node is not None else None


TIMER_TAGS = ("timeDuration", "timeDate", "timeCycle")


def _translate_expressions(root: etree._Element) -> list[Problem]:
    """JUEL/FEEL → Python in place, so the running engine only ever sees Python."""
    problems = []
    for tag in ("conditionExpression", "condition", "timeDuration", "timeDate", "timeCycle", "loopCardinality",
                "completionCondition"):
        for node in root.iter(_tag(tag)):
            text = (node.text or "").strip()
            if not text or dialects.dialect_of(text) == "python":
                continue
            element_id = _owner_id(node)
            try:
                python = dialects.to_python(text)
                # a timer's value is computed at run time, then read as a timer (app.engine.timers)
                node.text = f"value({python})" if _local(node) in TIMER_TAGS else python
            except dialects.DialectError as exc:
                problems.append(Problem(
                    "unsupported_expression",
                    f"Biểu thức {dialects.dialect_of(text).upper()} '{text[:80]}' tại '{element_id}': {exc}. "
                    "Hãy sửa biểu thức hoặc viết bằng Python trên biến của hồ sơ, ví dụ: approved == True",
                    element_id=element_id))
    return problems


def _children(container: etree._Element, *tags: str) -> list[etree._Element]:
    return [n for n in container if _local(n) in tags and etree.QName(n).namespace == BPMN_NS]


def _fresh_id(ids: set[str], base: str) -> str:
    candidate, n = base, 1
    while candidate in ids:
        n += 1
        candidate = f"{base}_{n}"
    ids.add(candidate)
    return candidate


def _add_to_lane(container: etree._Element, neighbour_id: str, new_id: str) -> None:
    for ref in container.iter(_tag("flowNodeRef")):
        if (ref.text or "").strip() == neighbour_id:
            added = etree.SubElement(ref.getparent(), _tag("flowNodeRef"))
            added.text = new_id
            return


def _new_flow(container: etree._Element, ids: set[str], source: str, target: str) -> etree._Element:
    flow = etree.SubElement(container, _tag("sequenceFlow"))
    flow.set("id", _fresh_id(ids, f"{source}_to_{target}"))
    flow.set("sourceRef", source)
    flow.set("targetRef", target)
    return flow


def _rewire(node: etree._Element, direction: str, old_flow: str, new_flow: str | None) -> None:
    for ref in _children(node, direction):
        if (ref.text or "").strip() == old_flow:
            if new_flow is None:
                node.remove(ref)
            else:
                ref.text = new_flow
    if new_flow is not None and not any((r.text or "").strip() == new_flow for r in _children(node, direction)):
        etree.SubElement(node, _tag(direction)).text = new_flow


def _start_subprocess(container: etree._Element, ids: set[str], result: Normalised) -> None:
    """A subprocess without a start event starts every activity nobody flows into (BPMN 2.0 §10.5.2)."""
    if _children(container, "startEvent") or container.get("triggeredByEvent") == "true":
        return
    targets = {f.get("targetRef") for f in _children(container, "sequenceFlow")}
    entries = [n for n in container if (_local(n) in ACTIVITIES or _local(n) in GATEWAYS
                                        or _local(n) in {"intermediateCatchEvent", "intermediateThrowEvent",
                                                         "endEvent"})
               and n.get("id") not in targets and n.get("isForCompensation") != "true"]
    if not entries and any(_local(n) in ACTIVITIES | EVENTS | GATEWAYS | {"endEvent"} for n in container):
        return
    start = etree.Element(_tag("startEvent"))
    start.set("id", _fresh_id(ids, f"{container.get('id')}{INSERTED}start"))
    container.insert(0, start)
    for entry in entries:
        flow = _new_flow(container, ids, start.get("id"), entry.get("id"))
        etree.SubElement(start, _tag("outgoing")).text = flow.get("id")
        _rewire(entry, "incoming", "", flow.get("id"))
    if not entries:  # a collapsed, empty subprocess is a placeholder: it completes at once, like a plain task
        end = etree.SubElement(container, _tag("endEvent"))
        end.set("id", _fresh_id(ids, f"{container.get('id')}{INSERTED}end"))
        flow = _new_flow(container, ids, start.get("id"), end.get("id"))
        etree.SubElement(start, _tag("outgoing")).text = flow.get("id")
        etree.SubElement(end, _tag("incoming")).text = flow.get("id")
    result.changes.append(f"{container.get('id')}: thêm sự kiện bắt đầu")


def _implicit_splits(container: etree._Element, ids: set[str], result: Normalised) -> None:
    """Several flows out of a task or event: all unconditional → parallel split, some conditional → inclusive."""
    by_source: dict[str, list[etree._Element]] = {}
    for flow in _children(container, "sequenceFlow"):
        by_source.setdefault(flow.get("sourceRef"), []).append(flow)
    for node in list(container):
        if _local(node) not in ACTIVITIES | EVENTS:
            continue
        outgoing = by_source.get(node.get("id"), [])
        if len(outgoing) < 2:
            continue
        default = node.attrib.pop("default", None)
        # A default flow is taken only when no other flow is, which an inclusive gateway decides too.
        conditional = default is not None or any(f.find("bpmn:conditionExpression", NS) is not None
                                                 for f in outgoing)
        gateway = etree.Element(_tag("inclusiveGateway" if conditional else "parallelGateway"))
        gateway.set("id", _fresh_id(ids, f"{node.get('id')}{INSERTED}split"))
        if default:
            gateway.set("default", default)
        node.addnext(gateway)
        link = _new_flow(container, ids, node.get("id"), gateway.get("id"))
        etree.SubElement(gateway, _tag("incoming")).text = link.get("id")
        for flow in outgoing:
            flow.set("sourceRef", gateway.get("id"))
            _rewire(node, "outgoing", flow.get("id"), None)
            etree.SubElement(gateway, _tag("outgoing")).text = flow.get("id")
            if conditional and flow.get("id") != default and flow.find("bpmn:conditionExpression", NS) is None:
                etree.SubElement(flow, _tag("conditionExpression")).text = "True"  # BPMN: taken always
        _rewire(node, "outgoing", "", link.get("id"))
        _add_to_lane(container, node.get("id"), gateway.get("id"))
        result.changes.append(f"{node.get('id')}: thêm cổng tách {_local(gateway)}")


def _implicit_joins(container: etree._Element, ids: set[str], result: Normalised) -> None:
    """Several flows into a task: each token passes on its own (uncontrolled flow), i.e. an exclusive merge."""
    by_target: dict[str, list[etree._Element]] = {}
    for flow in _children(container, "sequenceFlow"):
        by_target.setdefault(flow.get("targetRef"), []).append(flow)
    event_gateways = {g.get("id") for g in _children(container, "eventBasedGateway")}
    for node in list(container):
        if _local(node) not in ACTIVITIES | {"intermediateCatchEvent", "intermediateThrowEvent"}:
            continue
        incoming = by_target.get(node.get("id"), [])
        if len(incoming) < 2 or any(f.get("sourceRef") in event_gateways for f in incoming):
            continue  # an event-based gateway must lead straight to the event it waits for
        gateway = etree.Element(_tag("exclusiveGateway"))
        gateway.set("id", _fresh_id(ids, f"{node.get('id')}{INSERTED}merge"))
        node.addprevious(gateway)
        for flow in incoming:
            flow.set("targetRef", gateway.get("id"))
            _rewire(node, "incoming", flow.get("id"), None)
            etree.SubElement(gateway, _tag("incoming")).text = flow.get("id")
        link = _new_flow(container, ids, gateway.get("id"), node.get("id"))
        etree.SubElement(gateway, _tag("outgoing")).text = link.get("id")
        _rewire(node, "incoming", "", link.get("id"))
        _add_to_lane(container, node.get("id"), gateway.get("id"))
        result.changes.append(f"{node.get('id')}: thêm cổng gộp")


def _unsupported(root: etree._Element) -> list[Problem]:
    """Every construct that would still fail, each with its element id and how to fix it."""
    problems: list[Problem] = []

    def add(code: str, node: etree._Element, message: str) -> None:
        problems.append(Problem(code, message.format(id=_owner_id(node)), element_id=_owner_id(node)))

    for timer in root.iter(_tag("timerEventDefinition")):
        if not any((child.text or "").strip() for child in timer if _local(child).startswith("time")):
            add("invalid_timer", timer.getparent(),
                "Sự kiện hẹn giờ '{id}' chưa có thời gian; hãy nhập ISO 8601, ví dụ PT2H (2 giờ), P3D (3 ngày) "
                "hoặc 2026-01-01T08:00:00")
    for task in root.iter(_tag("businessRuleTask")):
        if task.get(f"{{{CAMUNDA_NS}}}decisionRef") is None:
            add("missing_attribute", task,
                "Bước quy tắc nghiệp vụ '{id}' chưa gắn bảng quyết định (camunda:decisionRef); hãy gắn mã bảng "
                "DMN và gửi kèm tệp .dmn, hoặc đổi thành bước thường")
    for task in root.iter(_tag("scriptTask")):
        script_format = (task.get("scriptFormat") or "").strip().lower()
        if script_format not in PYTHON_SCRIPTS:
            add("unsupported_script", task,
                f"Bước chạy mã '{{id}}' dùng ngôn ngữ '{task.get('scriptFormat')}'; chỉ hỗ trợ Python "
                "(scriptFormat=\"python\"), hãy viết lại đoạn mã bằng Python")
    for task in root.iter(_tag("serviceTask")):
        add("unsupported_element", task,
            "Bước dịch vụ (service task) '{id}' chưa được hỗ trợ (không gọi được lớp Java hay dịch vụ ngoài); hãy "
            "thay bằng bước chạy mã Python (scriptTask) hoặc bước người dùng (userTask)")
    for gateway in root.iter(_tag("complexGateway")):
        add("unsupported_element", gateway,
            "Cổng phức hợp (complex gateway) '{id}' chưa được hỗ trợ; hãy thay bằng cổng song song, rẽ nhánh "
            "hoặc bao hàm")
    by_source: dict[str, list[etree._Element]] = {}
    for flow in root.iter(_tag("sequenceFlow")):
        by_source.setdefault(flow.get("sourceRef"), []).append(flow)
    for gateway_tag in ("exclusiveGateway", "inclusiveGateway"):
        for gateway in root.iter(_tag(gateway_tag)):
            outgoing = by_source.get(gateway.get("id"), [])
            if len(outgoing) < 2:
                continue
            for flow in outgoing:
                if flow.get("id") != gateway.get("default") and flow.find("bpmn:conditionExpression", NS) is None:
                    add("missing_condition", flow,
                        f"Luồng '{{id}}' đi ra từ cổng '{gateway.get('id')}' nhưng không có điều kiện và không "
                        "phải luồng mặc định; hãy thêm điều kiện (ví dụ approved == True) hoặc đặt làm luồng "
                        "mặc định")
    for loop in root.iter(_tag("multiInstanceLoopCharacteristics")):
        cardinality = loop.find("bpmn:loopCardinality", NS)
        has_cardinality = cardinality is not None and (cardinality.text or "").strip()
        collection = loop.get(f"{{{CAMUNDA_NS}}}collection")
        if not has_cardinality and not collection:
            add("invalid_multi_instance", loop.getparent(),
                "Bước lặp nhiều lần '{id}' phải khai báo số lần lặp (loopCardinality) hoặc tập dữ liệu "
                "(camunda:collection)")
    return problems
