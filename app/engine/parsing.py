"""Turn uploaded BPMN/DMN bytes into validated process models, or a problem naming the element at fault.

Reading the bytes safely is app.engine.xml_safety's job; this module checks references SpiffWorkflow
does not check (or reports confusingly), runs CamundaParser, and turns every exception it raises into
InvalidDiagram with a stable code, the element id and a Vietnamese explanation.
"""

import hashlib
import logging
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.event_parsers import ReceiveTaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import ReceiveTask
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import CamundaEventDefinitionParser
from SpiffWorkflow.exceptions import SpiffWorkflowException

from app.engine import dialects, scripting, serialization, timers
from app.engine.model import ElementInfo, ProcessModel
from app.engine.normalise import normalise
from app.engine.timer_events import BranchTimer, RepeatingTimer
from app.engine.xml_safety import Limits, read_xml
from app.errors import InvalidDiagram, MotcuaError, Problem

__all__ = ["Limits", "ParsedFile", "SourceFile", "parse_files"]

log = logging.getLogger("motcua.engine")

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
DMN_NAMESPACES = {
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
}
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS, "zeebe": ZEEBE_NS}
PREFIXES = {BPMN_NS: "bpmn", CAMUNDA_NS: "camunda"}
_ATTRIBUTE_HINTS = {"camunda:decisionRef": " (mã bảng quyết định DMN mà bước quy tắc nghiệp vụ cần gọi)"}
HUMAN_TAGS = {"userTask", "manualTask"}
CONTAINERS = {"process", "subProcess", "transaction", "adHocSubProcess"}


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


class _CamundaReceiveTaskParser(CamundaEventDefinitionParser, ReceiveTaskParser):
    def create_task(self):
        return ReceiveTaskParser.create_task(self)


class _Parser(CamundaParser):
    """CamundaParser whose receive tasks carry Camunda message definitions, like its catch events.

    Stock CamundaParser gives a receive task the plain BPMN MessageEventDefinition, which the Camunda
    serializer cannot store and which the runtime's message delivery does not expect.
    """

    OVERRIDE_PARSER_CLASSES = {**CamundaParser.OVERRIDE_PARSER_CLASSES,
                               full_tag("receiveTask"): (_CamundaReceiveTaskParser, ReceiveTask)}


def parse_files(sources: list[SourceFile], limits: Limits = Limits()) -> list[ParsedFile]:
    """Parse every file together (call activities may cross files) and return the executable processes."""
    if not sources:
        raise InvalidDiagram("Chưa gửi tệp nào", code="no_file")
    parser = _Parser()
    parsed: list[tuple[ParsedFile, etree._ElementTree]] = []
    for source in sources:
        tree = read_xml(source.name, source.content, limits)
        root = tree.getroot()
        namespace = etree.QName(root).namespace or ""
        if namespace in DMN_NAMESPACES:
            with _explained(source.name, [tree]):
                parser.add_dmn_xml(tree, filename=source.name)
            continue
        if namespace != BPMN_NS or etree.QName(root).localname != "definitions":
            raise InvalidDiagram(f"'{source.name}' không phải tệp BPMN 2.0: phần tử gốc là "
                                 f"'{etree.QName(root).localname}', cần 'bpmn:definitions'", code="not_bpmn")
        _check_references(tree, source.name)
        rewritten = normalise(tree, source.name)
        if rewritten.changes:
            log.info("%s normalised: %s", source.name, "; ".join(rewritten.changes))
        with _explained(source.name, [tree]):
            parser.add_bpmn_xml(tree, filename=source.name)
        item = ParsedFile(source, hashlib.sha256(source.content).hexdigest(), source.content.decode("utf-8"))
        parsed.append((item, tree))
    trees = [tree for _, tree in parsed]
    executable = set(parser.get_process_ids())
    for item, tree in parsed:
        for process in tree.getroot().iterfind("bpmn:process", NS):
            if process.get("id") in executable:
                with _explained(item.source.name, trees, process.get("id")):
                    item.processes.append(_build_model(parser, process, item.source.name))
    if not any(item.processes for item, _ in parsed):
        raise _no_executable_process(sources, trees)
    return [item for item, _ in parsed]


@contextmanager
def _explained(filename: str, trees: list[etree._ElementTree], process_id: str | None = None) -> Iterator[None]:
    try:
        yield
    except MotcuaError:
        raise
    except Exception as exc:  # SpiffWorkflow raises KeyError, TypeError, RecursionError... on real diagrams
        raise _as_invalid(exc, filename, trees, process_id) from exc


def _check_references(tree: etree._ElementTree, filename: str) -> None:
    """Duplicate ids and dangling sequence flows, which SpiffWorkflow ignores or reports misleadingly."""
    ids = Counter(node.get("id") for node in tree.getroot().iter(f"{{{BPMN_NS}}}*") if node.get("id"))
    duplicated = [element_id for element_id, count in ids.items() if count > 1]
    if duplicated:
        raise InvalidDiagram(f"'{filename}': mã phần tử '{duplicated[0]}' bị dùng cho nhiều phần tử; mỗi phần tử "
                             "phải có mã (id) riêng", code="duplicate_id", element_id=duplicated[0])
    siblings: dict[etree._Element, set[str]] = {}
    for flow in tree.getroot().iter(f"{{{BPMN_NS}}}sequenceFlow"):
        container = flow.getparent()
        if container not in siblings:
            siblings[container] = {node.get("id") for node in container if isinstance(node.tag, str) and node.get("id")}
        for attribute, role in (("sourceRef", "nguồn"), ("targetRef", "đích")):
            ref = flow.get(attribute)
            if ref not in siblings[container]:
                what = f"'{ref}' không có trong cùng quy trình" if ref else "chưa được khai báo"
                raise InvalidDiagram(f"'{filename}': luồng tuần tự '{flow.get('id')}' có phần tử {role} "
                                     f"({attribute}) {what}", code="invalid_reference", element_id=flow.get("id"))


def _no_executable_process(sources: list[SourceFile], trees: list[etree._ElementTree]) -> InvalidDiagram:
    files = ", ".join(f"'{source.name}'" for source in sources[:5])
    processes = [p for tree in trees for p in tree.getroot().iterfind("bpmn:process", NS)]
    if not processes:
        return InvalidDiagram(f"{files}: không có quy trình nào (bpmn:process)", code="no_executable_process")
    listed = ", ".join(f"'{p.get('id')}'" for p in processes[:5])
    return InvalidDiagram(f"{files}: không có quy trình nào được đánh dấu có thể thực thi (isExecutable=\"true\"); "
                          f"các quy trình có trong tệp: {listed}. "
                          "Nếu quy trình dùng để chạy, hãy đặt isExecutable=\"true\" "
                          "(Camunda Modeler: đánh dấu Executable)", code="no_executable_process",
                          element_id=processes[0].get("id") if len(processes) == 1 else None)


def _build_model(parser: CamundaParser, process: etree._Element, filename: str) -> ProcessModel:
    process_id = process.get("id")
    spec = parser.get_spec(process_id)
    subprocess_specs = parser.get_subprocess_specs(process_id)
    _check_expressions(process, filename)
    _check_timers(process, filename)
    for one_spec in (spec, *subprocess_specs.values()):
        _absolute_timers(one_spec)
    model = ProcessModel(key=process_id, name=process.get("name"), spec=spec,
                         subprocess_specs=subprocess_specs, elements=_element_infos(process))
    try:  # a model we could not store would fail later, inside the deployment transaction
        serialization.dump_model(model)
    except (TypeError, ValueError) as exc:
        element_id = _unserializable_element(model, str(exc)) or process_id
        raise InvalidDiagram(f"'{filename}': phần tử '{element_id}' dùng tính năng chưa lưu trữ được ({exc}); "
                             "hãy bỏ hoặc thay phần tử này", code="unsupported_element", element_id=element_id) from exc
    return model


def _unserializable_element(model: ProcessModel, message: str) -> str | None:
    type_name = message.rsplit(" ", 1)[-1].rstrip(".")
    for spec in (model.spec, *model.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            if any(type(value).__name__ == type_name for value in vars(task_spec).values()):
                return getattr(task_spec, "bpmn_id", None)
    return None


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
            candidate_groups=(_split(node.get(f"{{{CAMUNDA_NS}}}candidateGroups"))
                              or _names(_zeebe(node, "assignmentDefinition", "candidateGroups"))),
            candidate_users=(_split(node.get(f"{{{CAMUNDA_NS}}}candidateUsers"))
                             or _names(_zeebe(node, "assignmentDefinition", "candidateUsers"))),
            assignee=node.get(f"{{{CAMUNDA_NS}}}assignee") or _zeebe(node, "assignmentDefinition", "assignee"),
            due_date=node.get(f"{{{CAMUNDA_NS}}}dueDate") or _zeebe(node, "taskSchedule", "dueDate"),
            follow_up_date=(node.get(f"{{{CAMUNDA_NS}}}followUpDate")
                            or _zeebe(node, "taskSchedule", "followUpDate")),
            form=_form(node),
            properties={p.get("name"): p.get("value")
                        for p in [*node.iterfind("bpmn:extensionElements/camunda:properties/camunda:property", NS),
                                  *node.iterfind("bpmn:extensionElements/zeebe:properties/zeebe:property", NS)]
                        if p.get("name")},
        )
    return infos


def _zeebe(node: etree._Element, element: str, attribute: str) -> str | None:
    """Camunda 8 writes the same task attributes as zeebe: extension elements."""
    found = node.find(f"bpmn:extensionElements/zeebe:{element}", NS)
    return found.get(attribute) if found is not None else None


def _names(value: str | None) -> list[str]:
    """A FEEL expression (`=["a", "b"]`) is one entry, resolved when the task opens; else a comma list."""
    return [value.strip()] if value and value.strip().startswith("=") else _split(value)


def _form(node: etree._Element) -> dict[str, Any] | None:
    """camunda:formKey and camunda:formData fields, with their validation constraints and enum values."""
    key = node.get(f"{{{CAMUNDA_NS}}}formKey") or _zeebe(node, "formDefinition", "formKey")
    fields = []
    for f in node.iterfind("bpmn:extensionElements/camunda:formData/camunda:formField", NS):
        fields.append({"id": f.get("id"), "label": f.get("label"), "type": f.get("type"),
                       "defaultValue": f.get("defaultValue"),
                       "options": [{"id": v.get("id"), "name": v.get("name")}
                                   for v in f.iterfind("camunda:value", NS)] or None,
                       "validation": {c.get("name"): c.get("config")
                                      for c in f.iterfind("camunda:validation/camunda:constraint", NS)
                                      if c.get("name")},
                       "properties": {p.get("id"): p.get("value")
                                      for p in f.iterfind("camunda:properties/camunda:property", NS)
                                      if p.get("id")}})
    if key is None and not fields:
        return None
    return {"key": key, "fields": fields}


def _check_expressions(process: etree._Element, filename: str) -> None:
    """Refuse at deploy what the restricted evaluator would refuse at run time."""
    problems = []
    for tag, check in (("conditionExpression", scripting.check_expression),
                       ("script", scripting.check_script)):
        for node in process.iter(f"{{{BPMN_NS}}}{tag}"):
            text = (node.text or "").strip()
            if not text:
                continue
            owner = node.getparent()
            while owner is not None and owner.get("id") is None:
                owner = owner.getparent()
            element_id = owner.get("id") if owner is not None else None
            try:
                check(text)
            except scripting.ExpressionRejected as exc:
                if re.search(r"[$#]\{", text):
                    message = (f"Biểu thức JUEL của Camunda '{text[:80]}' tại '{element_id}' chưa được hỗ trợ; "
                               "hãy viết biểu thức Python trên biến của hồ sơ, ví dụ: approved == True")
                else:
                    message = (f"Biểu thức tại '{element_id}' không được phép: {exc}. Hãy dùng biểu thức Python "
                               "đơn giản trên biến của hồ sơ (không import, không thuộc tính __...__).")
                problems.append(Problem("unsupported_expression", message, element_id=element_id))
    if problems:
        raise InvalidDiagram(f"'{filename}': {problems[0].message}", code="unsupported_expression",
                             element_id=problems[0].element_id, problems=problems)


TIMER_TAGS = {f"{{{BPMN_NS}}}{tag}" for tag in ("timeDuration", "timeDate", "timeCycle")}


def _check_timers(process: etree._Element, filename: str) -> None:
    """Timer durations/dates/cycles and task due dates must be what app.engine.timers can turn into a due time,
    on an element where the engine can schedule them."""
    problems = []
    nodes = [(n, n.text) for n in process.iter(*TIMER_TAGS)]
    nodes += [(n, n.get(f"{{{CAMUNDA_NS}}}dueDate")) for n in process.iter()
              if isinstance(n.tag, str) and n.get(f"{{{CAMUNDA_NS}}}dueDate") is not None]
    nodes += [(n, f"workdays({n.get('value')})") for n in process.iter(f"{{{CAMUNDA_NS}}}property")
              if n.get("name") == "motcua:workdays"]
    for node, text in nodes:
        # a timer belongs to its event, the element the author drew, even when its timerEventDefinition has an id
        owner = node.getparent().getparent() if node.tag in TIMER_TAGS else node
        while owner is not None and owner.get("id") is None:
            owner = owner.getparent()
        element_id = owner.get("id") if owner is not None else None
        if node.get(f"{{{CAMUNDA_NS}}}dueDate") is not None and dialects.dialect_of(text or "") != "python":
            continue  # a JUEL/FEEL due date is resolved on the task's data when the task opens
        try:
            _check_timer_place(node, owner, timers.parse(text))
        except timers.InvalidTimer as exc:
            problems.append(Problem("invalid_timer", f"Hẹn giờ/hạn xử lý tại '{element_id}': {exc}",
                                    element_id=element_id))
    if problems:
        raise InvalidDiagram(f"'{filename}': {problems[0].message}", code="invalid_timer",
                             element_id=problems[0].element_id, problems=problems)


def _check_timer_place(node: etree._Element, owner: etree._Element | None, parsed: timers.TimerExpression) -> None:
    """A cycle repeats only on a boundary event (interrupting: its first occurrence) or as new instances from a
    process's start event; elsewhere it could not be scheduled as drawn, so it is refused rather than run
    differently."""
    tag = etree.QName(node).localname
    place = etree.QName(owner).localname if owner is not None else None
    parent = owner.getparent() if owner is not None else None
    process_start = place == "startEvent" and parent is not None and etree.QName(parent).localname == "process"
    if process_start and tag.startswith("time") and parsed.kind not in ("date", "duration", "cycle"):
        # the scheduler reads it at deploy, without instance data or the working-day calendar of a dossier
        raise timers.InvalidTimer("sự kiện bắt đầu hẹn giờ chỉ nhận ngày giờ, khoảng thời gian hoặc chu kỳ ISO 8601 "
                                  "(ví dụ 2026-01-02T08:00:00, PT1H, R/P1D)")
    if tag != "timeCycle":
        if parsed.kind == "cycle":
            raise timers.InvalidTimer("chu kỳ lặp (R...) phải đặt trong timeCycle, không phải " + tag)
        return
    if parsed.kind not in ("cycle", "expression"):
        raise timers.InvalidTimer("timeCycle cần chu kỳ lặp, ví dụ R3/PT1H hoặc R/P1D; hẹn một lần hãy dùng "
                                  "timeDuration hoặc timeDate")
    if place != "boundaryEvent" and not process_start:
        raise timers.InvalidTimer("chu kỳ lặp (timeCycle) chỉ dùng được cho sự kiện biên (boundary event) và sự kiện "
                                  "bắt đầu của quy trình; sự kiện chờ giữa quy trình và quy trình con hãy dùng "
                                  "timeDuration hoặc timeDate")


def _absolute_timers(spec: Any) -> None:
    """Duration timers become date timers: the engine evaluates both to an absolute due time, stored once.
    Timers the engine must schedule one by one get their own definitions (app.engine.timer_events)."""
    for task_spec in spec.task_specs.values():
        definition = getattr(task_spec, "event_definition", None)
        if type(definition) is DurationTimerEventDefinition:
            task_spec.event_definition = TimeDateEventDefinition(definition.name, definition.expression,
                                                                 description=definition.description)
        elif type(definition) is CycleTimerEventDefinition:
            # an interrupting timer ends the activity at its first occurrence, so there is no second; a start
            # event's repetitions are new instances, scheduled outside the instance (app.jobs.timer_starts)
            once = getattr(task_spec, "cancel_activity", False) or isinstance(task_spec, StartEvent)
            target = TimeDateEventDefinition if once else RepeatingTimer
            task_spec.event_definition = target(definition.name, definition.expression,
                                                description=definition.description)
        elif isinstance(definition, MultipleEventDefinition):
            gateway = isinstance(task_spec, EventBasedGateway)
            definition.event_definitions = [
                BranchTimer(d.name, d.expression, task_spec.outputs[i].bpmn_id if gateway else task_spec.bpmn_id,
                            description=d.description) if isinstance(d, TimerEventDefinition) else d
                for i, d in enumerate(definition.event_definitions)]


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()] if value else []


# What SpiffWorkflow says -> (stable code, Vietnamese explanation). {id} is the element at fault,
# other placeholders are named groups of the pattern.
_KNOWN_MESSAGES: list[tuple[re.Pattern[str], str, str]] = [(re.compile(p, re.S), c, m) for p, c, m in (
    (r"Multiple outgoing flows are not supported", "implicit_split",
     "Bước '{id}' có nhiều luồng ra mà không qua cổng (gateway); hãy thêm cổng song song hoặc cổng rẽ nhánh "
     "sau bước này"),
    (r"Exactly one start event is required in a SubWorkflow Task; found (?P<n>\d+)", "invalid_subprocess",
     "Quy trình con '{id}' phải có đúng một sự kiện bắt đầu (đang có {n})"),
    (r"A SubWorkflow Must contain an End event", "invalid_subprocess",
     "Quy trình con '{id}' phải có ít nhất một sự kiện kết thúc"),
    (r"Time Specification", "invalid_timer",
     "Sự kiện hẹn giờ '{id}' thiếu hoặc sai biểu thức thời gian; hãy dùng ISO 8601, ví dụ PT2H (2 giờ), "
     "P3D (3 ngày) hoặc 2026-01-01T08:00:00"),
    (r"Data Store with name (?P<name>.*?) has no implementation", "unsupported_element",
     "Kho dữ liệu (data store) '{name}' chưa được hỗ trợ; hãy bỏ kho dữ liệu khỏi sơ đồ"),
    (r"Data Store (identifier|name) is missing", "invalid_reference", "Kho dữ liệu (data store) thiếu mã hoặc tên"),
    (r"Non-default exclusive outgoing sequence flow without condition", "missing_condition",
     "Luồng '{id}' đi ra từ cổng rẽ nhánh nhưng không có điều kiện và không phải luồng mặc định"),
    (r"Conditional event definition with missing condition", "missing_condition",
     "Sự kiện điều kiện '{id}' chưa có biểu thức điều kiện"),
    (r"When looking for a task spec", "invalid_reference",
     "Luồng ra từ '{id}' trỏ tới phần tử không phải bước, sự kiện hay cổng"),
    (r"Expected 1 result\. Received (?P<n>\d+) results", "invalid_reference",
     "Phần tử '{id}' tham chiếu tới một phần tử (ví dụ thông điệp) không có hoặc bị trùng trong tệp (tìm thấy {n})"),
    (r"Cannot resolve data(Input|Output)Association", "invalid_reference",
     "Liên kết dữ liệu của '{id}' trỏ tới đối tượng dữ liệu không có trong quy trình"),
    (r"A multiinstance task must specify a cardinality or a collection", "invalid_multi_instance",
     "Bước lặp nhiều lần '{id}' phải khai báo số lần lặp (loopCardinality) hoặc tập dữ liệu (camunda:collection)"),
    (r"loopMaximum or loopCondition|loop (input|output) data reference", "invalid_multi_instance",
     "Bước lặp '{id}' thiếu số lần lặp tối đa, điều kiện dừng hoặc dữ liệu lặp"),
    (r"Duplicate process ID: (?P<name>.+)", "duplicate_process",
     "Mã quy trình '{name}' xuất hiện nhiều lần trong lượt triển khai này"),
    (r"The process '(?P<name>[^']*)' was not found", "unknown_called_process",
     "Bước gọi quy trình '{id}' trỏ tới quy trình '{name}' không có trong lượt triển khai này; hãy gửi kèm "
     "tệp chứa quy trình đó"),
    (r'No "calledElement" attribute', "invalid_reference", "Bước gọi quy trình '{id}' thiếu thuộc tính calledElement"),
    (r'No DMN Diagram available with id "(?P<name>[^"]*)"', "unknown_decision",
     "Bước quy tắc nghiệp vụ '{id}' dùng bảng quyết định '{name}' không có trong lượt triển khai; hãy gửi kèm "
     "tệp .dmn"),
    (r"No decisions found|Multiple decision tables", "invalid_dmn",
     "Tệp DMN phải có đúng một bảng quyết định (decisionTable)"),
    (r"No start event found", "no_start_event", "Quy trình '{id}' không có sự kiện bắt đầu"),
    # SpiffWorkflow's "Expected an Error node" path itself fails with a TypeError (raise_validation_exception)
    (r"Expected an? \w+ node|identifier is missing|Could not find messageRef|raise_validation_exception\(\) got",
     "invalid_reference", "Phần tử '{id}' tham chiếu tới thông điệp, tín hiệu, lỗi hoặc leo thang (messageRef, "
     "signalRef, errorRef, escalationRef) chưa được khai báo đúng trong tệp"),
    (r"There is no support implemented for this task type|Unsupported Catch Event", "unsupported_element",
     "Loại phần tử của '{id}' chưa được hỗ trợ"),
    (r"Cancel Events may only be used with transactions", "unsupported_element",
     "Sự kiện huỷ '{id}' chỉ dùng được trong giao dịch (transaction)"),
    (r"Sequential ordering for ad hoc|Ad hoc subprocesses may not contain", "unsupported_element",
     "Quy trình con tự do (ad hoc) '{id}' có cấu hình chưa được hỗ trợ"),
    (r"Invalid Script Task", "invalid_script", "Bước chạy mã '{id}' không có nội dung mã (bpmn:script)"),
    (r"is not executable", "no_executable_process", "Quy trình '{id}' không được đánh dấu có thể thực thi"),
)]


def _as_invalid(exc: BaseException, filename: str, trees: list[etree._ElementTree],
                process_id: str | None = None) -> InvalidDiagram:
    raw = _raw_message(exc)
    root_cause = _root_cause(exc)
    code, message, element_id = "invalid_bpmn", None, _element_of(exc)
    for pattern, known_code, template in _KNOWN_MESSAGES:
        match = pattern.search(raw)
        if match:
            names = {k: " ".join(v.split()) for k, v in match.groupdict().items() if v is not None}
            element_id = element_id or _element_in_xml(known_code, names.get("name"), trees)
            code, message = known_code, template.format(id=element_id or process_id or "?", **{"n": "", **names})
            break
    else:
        if isinstance(root_cause, RecursionError):
            code, message = "too_deep", "Sơ đồ có chuỗi bước quá dài hoặc lồng quá sâu để phân tích"
        elif isinstance(root_cause, KeyError) and str(root_cause.args[0] if root_cause.args else "").startswith("{"):
            attribute = _prefixed(str(root_cause.args[0]))
            code = "missing_attribute"
            message = (f"Phần tử '{element_id or process_id or '?'}' thiếu thuộc tính bắt buộc '{attribute}'"
                       f"{_ATTRIBUTE_HINTS.get(attribute, '')}")
        elif isinstance(root_cause, UnicodeError):
            code, message = "invalid_encoding", "Tệp có ký tự không đọc được; hãy lưu tệp với mã hoá UTF-8"
        else:
            where = f"phần tử '{element_id}'" if element_id else "sơ đồ"
            message = f"Không phân tích được {where}; chi tiết kỹ thuật: {raw}"
    element_id = element_id or process_id
    detail = f"'{filename}': {message}"
    return InvalidDiagram(detail, code=code, element_id=element_id,
                          problems=[Problem(code, message, element_id=element_id)])


def _root_cause(exc: BaseException) -> BaseException:
    """TaskParser re-raises any error as ValidationException(repr(error)); look through that wrapper."""
    seen = {id(exc)}
    while isinstance(exc, ValidationException) and exc.__context__ is not None and id(exc.__context__) not in seen:
        exc = exc.__context__
        seen.add(id(exc))
    return exc


def _raw_message(exc: BaseException) -> str:
    text = (exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)).strip()
    text = re.sub(r"<Element [^>]*>", "", text)  # lxml reprs carry memory addresses, not information
    return text[:300] or exc.__class__.__name__


def _element_of(exc: BaseException) -> str | None:
    """The element id carried by the exception, or the innermost XML node the failing parser code held."""
    if isinstance(exc, ValidationException) and exc.id:
        return exc.id
    task_spec = getattr(exc, "task_spec", None)
    if isinstance(exc, SpiffWorkflowException) and getattr(task_spec, "bpmn_id", None):
        return task_spec.bpmn_id
    cause = _root_cause(exc)
    traceback = cause.__traceback__
    found = None
    while traceback is not None:  # outermost to innermost: the last node seen is the nearest to the error
        local = traceback.tb_frame.f_locals
        for candidate in (local.get("node"), getattr(local.get("self"), "node", None)):
            if isinstance(candidate, etree._Element) and candidate.get("id"):
                found = candidate.get("id")
                break
        traceback = traceback.tb_next
    return found


def _element_in_xml(code: str, name: str | None, trees: list[etree._ElementTree]) -> str | None:
    """Find the element a message names only indirectly (a data store by name, a call by process id)."""
    if not name:
        return None
    wanted = {"unsupported_element": (("dataStoreReference", "name"), ("dataStore", "name")),
              "unknown_called_process": (("callActivity", "calledElement"),),
              "duplicate_process": (("process", "id"),)}.get(code, ())
    for tag, attribute in wanted:
        for tree in trees:
            for node in tree.getroot().iter(f"{{{BPMN_NS}}}{tag}"):
                if " ".join((node.get(attribute) or "").split()) == name and node.get("id"):
                    return node.get("id")
    return None


def _prefixed(qualified: str) -> str:
    namespace, _, local = qualified[1:].partition("}")
    return f"{PREFIXES.get(namespace, namespace)}:{local}"
