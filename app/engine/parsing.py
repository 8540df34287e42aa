"""Turn uploaded BPMN/DMN bytes into validated process models, or a list of problems with element ids."""

import hashlib
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.exceptions import SpiffWorkflowException

from app.engine import scripting
from app.engine.model import ElementInfo, ProcessModel
from app.errors import InvalidDiagram, MotcuaError, PayloadTooLarge, Problem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
DMN_NAMESPACES = {
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
}
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}
HUMAN_TAGS = {"userTask", "manualTask"}


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 5 * 1024 * 1024
    max_elements: int = 20_000
    max_depth: int = 64


@dataclass
class SourceFile:
    name: str
    content: bytes


@dataclass
class ParsedFile:
    source: SourceFile
    sha256: str
    xml_text: str
    processes: list[ProcessModel] = field(default_factory=list)


def _xml_parser() -> etree.XMLParser:
    # No entity expansion, no DTD loading, no network: XXE and billion-laughs inputs go nowhere.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True)


def read_xml(source: SourceFile, limits: Limits) -> etree._ElementTree:
    if len(source.content) > limits.max_bytes:
        raise PayloadTooLarge(f"'{source.name}' vượt quá {limits.max_bytes} byte")
    if b"<!DOCTYPE" in source.content[:4096].upper() or b"<!ENTITY" in source.content.upper():
        raise InvalidDiagram(f"'{source.name}': khai báo DOCTYPE/ENTITY không được phép", code="dtd_forbidden")
    try:
        tree = etree.ElementTree(etree.fromstring(source.content, _xml_parser()))
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise InvalidDiagram(f"'{source.name}' không phải XML hợp lệ: {exc}", code="invalid_xml") from exc
    count = 0
    for element in tree.getroot().iter():
        count += 1
        if count > limits.max_elements:
            raise InvalidDiagram(f"'{source.name}' có quá {limits.max_elements} phần tử",
                                 code="too_many_elements")
    depth = _depth(tree.getroot(), limits.max_depth)
    if depth > limits.max_depth:
        raise InvalidDiagram(f"'{source.name}' lồng sâu quá {limits.max_depth} cấp", code="too_deep")
    return tree


def _depth(root: etree._Element, cap: int) -> int:
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > cap:
            return deepest
        stack.extend((child, level + 1) for child in node)
    return deepest


def _namespace(tree: etree._ElementTree) -> str:
    return etree.QName(tree.getroot()).namespace or ""


def parse_files(sources: list[SourceFile], limits: Limits = Limits()) -> list[ParsedFile]:
    """Parse every file together (call activities may cross files) and return the executable processes."""
    if not sources:
        raise InvalidDiagram("Chưa gửi tệp nào", code="no_file")
    parser = CamundaParser()
    parsed: list[ParsedFile] = []
    trees: list[tuple[ParsedFile, etree._ElementTree]] = []
    for source in sources:
        tree = read_xml(source, limits)
        namespace = _namespace(tree)
        try:
            if namespace in DMN_NAMESPACES:
                parser.add_dmn_xml(tree, filename=source.name)
                continue
            if namespace != BPMN_NS or etree.QName(tree.getroot()).localname != "definitions":
                raise InvalidDiagram(f"'{source.name}' không phải tệp BPMN 2.0 (bpmn:definitions)",
                                     code="not_bpmn")
            _mark_single_process_executable(tree)
            parser.add_bpmn_xml(tree, filename=source.name)
        except MotcuaError:
            raise
        except Exception as exc:
            raise _as_invalid(exc, source.name) from exc
        item = ParsedFile(source, hashlib.sha256(source.content).hexdigest(),
                          source.content.decode("utf-8", errors="replace"))
        parsed.append(item)
        trees.append((item, tree))
    for item, tree in trees:
        ids = [p.get("id") for p in tree.getroot().iterfind("bpmn:process", NS)]
        executable = [pid for pid in ids if pid in parser.get_process_ids()]
        for process_id in executable:
            item.processes.append(_build_model(parser, tree, process_id, item.source.name))
    if not any(item.processes for item in parsed):
        raise InvalidDiagram("Không có quy trình nào có thể thực thi (isExecutable=\"true\")",
                             code="no_executable_process")
    return parsed


def _mark_single_process_executable(tree: etree._ElementTree) -> None:
    """bpmn.io omits isExecutable on drafts; a lone process without the flag is meant to run."""
    processes = tree.getroot().findall("bpmn:process", NS)
    if len(processes) == 1 and processes[0].get("isExecutable") is None:
        processes[0].set("isExecutable", "true")


def _build_model(parser: CamundaParser, tree: etree._ElementTree, process_id: str, filename: str) -> ProcessModel:
    try:
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except RecursionError as exc:
        raise InvalidDiagram(f"Quy trình '{process_id}' quá dài hoặc lồng quá sâu để phân tích",
                             code="too_deep", element_id=process_id) from exc
    except Exception as exc:
        raise _as_invalid(exc, filename, process_id) from exc
    process = tree.getroot().find(f"bpmn:process[@id='{process_id}']", NS)
    elements = _element_infos(process)
    _check_expressions(process)
    return ProcessModel(key=process_id, name=process.get("name"), spec=spec,
                        subprocess_specs=subprocess_specs, elements=elements)


def _element_infos(process: etree._Element) -> dict[str, ElementInfo]:
    lanes: dict[str, tuple[str, str | None]] = {}
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            if ref.text:
                lanes[ref.text.strip()] = (lane.get("id"), lane.get("name"))
    infos: dict[str, ElementInfo] = {}
    for node in process.iter():
        if not isinstance(node.tag, str) or etree.QName(node).namespace != BPMN_NS:
            continue
        element_id = node.get("id")
        tag = etree.QName(node).localname
        if not element_id or tag not in HUMAN_TAGS:
            continue
        lane_id, lane_name = lanes.get(element_id, (None, None))
        infos[element_id] = ElementInfo(
            element_id=element_id,
            kind=tag,
            name=node.get("name"),
            lane=lane_id,
            lane_name=lane_name,
            candidate_groups=_split(node.get(f"{{{CAMUNDA_NS}}}candidateGroups")),
            candidate_users=_split(node.get(f"{{{CAMUNDA_NS}}}candidateUsers")),
            assignee=node.get(f"{{{CAMUNDA_NS}}}assignee"),
            due_date=node.get(f"{{{CAMUNDA_NS}}}dueDate"),
            form=_form(node),
            properties={p.get("name"): p.get("value")
                        for p in node.iterfind("bpmn:extensionElements/camunda:properties/camunda:property", NS)
                        if p.get("name")},
        )
    return infos


def _form(node: etree._Element) -> dict[str, Any] | None:
    key = node.get(f"{{{CAMUNDA_NS}}}formKey")
    fields = []
    for f in node.iterfind("bpmn:extensionElements/camunda:formData/camunda:formField", NS):
        fields.append({"id": f.get("id"), "label": f.get("label"), "type": f.get("type"),
                       "defaultValue": f.get("defaultValue"),
                       "options": [{"id": v.get("id"), "name": v.get("name")}
                                   for v in f.iterfind("camunda:value", NS)] or None})
    if key is None and not fields:
        return None
    return {"key": key, "fields": fields}


def _check_expressions(process: etree._Element) -> None:
    """Refuse at deploy what the restricted evaluator would refuse at run time."""
    problems = []
    for tag, check in (("conditionExpression", scripting.check_expression),
                       ("timeDuration", scripting.check_expression),
                       ("timeDate", scripting.check_expression),
                       ("timeCycle", scripting.check_expression),
                       ("script", scripting.check_script)):
        for node in process.iter(f"{{{BPMN_NS}}}{tag}"):
            text = (node.text or "").strip()
            if not text:
                continue
            owner = node.getparent()
            while owner is not None and owner.get("id") is None:
                owner = owner.getparent()
            try:
                check(text)
            except scripting.ExpressionRejected as exc:
                problems.append(Problem("unsupported_expression",
                                        f"Biểu thức không được phép: {exc}. Hãy dùng biểu thức Python đơn giản "
                                        "trên biến của hồ sơ (không import, không thuộc tính __...__).",
                                        element_id=owner.get("id") if owner is not None else None))
    if problems:
        raise InvalidDiagram(problems[0].message, code="unsupported_expression",
                             element_id=problems[0].element_id, problems=problems)


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()] if value else []


def _as_invalid(exc: BaseException, filename: str, process_id: str | None = None) -> InvalidDiagram:
    element_id = None
    if isinstance(exc, ValidationException):
        element_id = exc.id or None
    elif isinstance(exc, SpiffWorkflowException):
        element_id = getattr(getattr(exc, "task_spec", None), "bpmn_id", None)
    element_id = element_id or process_id
    if isinstance(exc, RecursionError):
        message = "Sơ đồ lồng quá sâu hoặc có chuỗi quá dài để phân tích"
    else:
        message = str(exc).strip() or exc.__class__.__name__
    return InvalidDiagram(f"'{filename}': {message}", code="invalid_bpmn", element_id=element_id,
                          problems=[Problem("invalid_bpmn", message, element_id=element_id)])

