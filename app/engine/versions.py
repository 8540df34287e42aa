"""Compare two versions of a process and move a running workflow onto another version (SpiffWorkflow diff utils)."""

from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from app.engine import serialization, tokens
from app.engine.model import ProcessModel
from app.engine.xml_safety import Limits, read_xml
from app.errors import Problem

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
_DONE = TaskState.COMPLETED | TaskState.ERROR | TaskState.CANCELLED
# SpiffWorkflow attribute names → the words an administrator reads in a diff.
_ATTRIBUTE_NAMES = {"typename": "type", "bpmn_name": "name", "inputs": "incoming", "outputs": "outgoing",
                    "cond_task_specs": "conditions", "default_task_spec": "default"}


@dataclass
class ElementChange:
    element_id: str
    type: str
    name: str | None
    changes: list[str] = field(default_factory=list)


@dataclass
class ModelDiff:
    added: list[ElementChange]
    removed: list[ElementChange]
    changed: list[ElementChange]
    # SpiffWorkflow's alignment where an element got a new id but kept its place: old id → new id.
    realigned: dict[str, str]


def diff_models(old: ProcessModel, old_xml: str, new: ProcessModel, new_xml: str) -> ModelDiff:
    """Elements by BPMN id: task specs through SpiffWorkflow's SpecDiff, sequence flows from the XML."""
    added: list[ElementChange] = []
    removed: list[ElementChange] = []
    changed: list[ElementChange] = []
    realigned: dict[str, str] = {}
    for old_spec, new_spec in _spec_pairs(old, new):
        old_specs, new_specs = _bpmn_specs(old_spec), _bpmn_specs(new_spec)
        if new_spec is None:
            removed.extend(_describe(s) for s in old_specs.values())
            continue
        if old_spec is None:
            added.extend(_describe(s) for s in new_specs.values())
            continue
        spec_diff = SpecDiff(serialization._registry, old_spec, new_spec)
        for spec, target in spec_diff.alignment.items():
            bpmn_id = getattr(spec, "bpmn_id", None)
            if bpmn_id and target is not None and getattr(target, "bpmn_id", None) not in (None, bpmn_id):
                realigned[bpmn_id] = target.bpmn_id
        removed.extend(_describe(s) for i, s in old_specs.items() if i not in new_specs)
        added.extend(_describe(s) for i, s in new_specs.items() if i not in old_specs)
        for bpmn_id, spec in old_specs.items():
            if bpmn_id not in new_specs:
                continue
            changes = [_ATTRIBUTE_NAMES.get(k, k) for k in spec_diff._compare_task_specs(spec, new_specs[bpmn_id])]
            old_info, new_info = old.elements.get(bpmn_id), new.elements.get(bpmn_id)
            if old_info != new_info:
                old_d = old_info.as_dict() if old_info else {}
                new_d = new_info.as_dict() if new_info else {}
                changes += [_camel(k) for k in sorted(set(old_d) | set(new_d)) if old_d.get(k) != new_d.get(k)]
            if changes:
                changed.append(_describe(new_specs[bpmn_id], sorted(set(changes))))
    old_flows, new_flows = _flows(old_xml, old.key), _flows(new_xml, new.key)
    for flow_id, (name, *_rest) in old_flows.items():
        if flow_id not in new_flows:
            removed.append(ElementChange(flow_id, "sequenceFlow", name))
    for flow_id, (name, *rest) in new_flows.items():
        if flow_id not in old_flows:
            added.append(ElementChange(flow_id, "sequenceFlow", name))
            continue
        old_name, old_source, old_target, old_condition = old_flows[flow_id]
        differences = [label for label, before, after in (
            ("name", old_name, name), ("source", old_source, rest[0]), ("target", old_target, rest[1]),
            ("condition", old_condition, rest[2])) if before != after]
        if differences:
            changed.append(ElementChange(flow_id, "sequenceFlow", name, differences))
    return ModelDiff(sorted(added, key=_by_id), sorted(removed, key=_by_id), sorted(changed, key=_by_id), realigned)


def migrate(workflow: BpmnWorkflow, new: ProcessModel) -> list[Problem]:
    """Put `workflow` onto `new` in place; return why it cannot move (then the workflow must be discarded)."""
    try:
        return _migrate(workflow, new)
    except (KeyError, AttributeError) as exc:  # an element SpiffWorkflow's alignment did not reach
        return [Problem("cannot_realign", f"Không gắn được trạng thái hồ sơ sang phiên bản đích ({exc})")]


def _migrate(workflow: BpmnWorkflow, new: ProcessModel) -> list[Problem]:
    problems: list[Problem] = []
    top_diff = WorkflowDiff(workflow, SpecDiff(serialization._registry, workflow.spec, new.spec))
    problems += _blockers(top_diff)
    sub_diffs: dict[Any, WorkflowDiff | None] = {}
    for sp_id, sub in workflow.subprocesses.items():
        target = new.subprocess_specs.get(sub.spec.name)
        if target is None:
            problems.append(Problem("subprocess_removed", f"Quy trình con '{sub.spec.name}' đang chạy nhưng phiên "
                                    "bản mới không còn", element_id=sub.spec.name))
            sub_diffs[sp_id] = None
            continue
        sub_diffs[sp_id] = WorkflowDiff(sub, SpecDiff(serialization._registry, sub.spec, target))
        problems += _blockers(sub_diffs[sp_id])
    if problems:
        return problems
    # migrate_workflow resets every waiting task, which would re-arm a running timer from now: a deadline
    # already counting keeps its due time across the migration.
    armed = {t.id: t.internal_data["event_value"] for t in workflow.get_tasks(state=TaskState.WAITING)
             if isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)
             and t.internal_data.get("event_value") is not None}
    migrate_workflow(top_diff, workflow, new.spec)
    for sp_id, sub in workflow.subprocesses.items():
        diff = sub_diffs[sp_id]
        if diff is not None:
            migrate_workflow(diff, sub, new.subprocess_specs[sub.spec.name])
    workflow.subprocess_specs = new.subprocess_specs
    for task in workflow.get_tasks(state=TaskState.WAITING):
        if task.id in armed and isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition):
            task.internal_data["event_value"] = armed[task.id]
    tokens.forget_dropped_waits(workflow)
    return _stale_tasks(workflow)


def _blockers(diff: WorkflowDiff) -> list[Problem]:
    """Tokens on, or history through, an element the target version no longer has cannot be carried over."""
    problems = []
    seen: set[tuple[str, str]] = set()
    for task in diff.removed:
        bpmn_id = getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
        if task.state & _ACTIVE:
            key = ("active_element_removed", bpmn_id)
            message = f"Hồ sơ đang ở bước '{bpmn_id}' mà phiên bản đích không còn bước này"
        elif task.state & _DONE:
            key = ("history_element_removed", bpmn_id)
            message = (f"Hồ sơ đã đi qua bước '{bpmn_id}' mà phiên bản đích không còn; lịch sử không thể "
                       "gắn sang phiên bản mới")
        else:
            continue  # a predicted task: dropped and predicted again from the target version
        if key not in seen:
            seen.add(key)
            problems.append(Problem(key[0], message, element_id=bpmn_id))
    return problems


def _stale_tasks(workflow: BpmnWorkflow) -> list[Problem]:
    """Predicted tasks outside the re-predicted branches may still point at old specs: refuse, never corrupt."""
    problems = []
    for wf in [workflow, *workflow.subprocesses.values()]:
        for task in wf.tasks.values():
            if wf.spec.task_specs.get(task.task_spec.name) is not task.task_spec:
                bpmn_id = getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
                problems.append(Problem("cannot_realign", f"Không gắn được bước '{bpmn_id}' sang phiên bản đích",
                                        element_id=bpmn_id))
                return problems
    return problems


def _spec_pairs(old: ProcessModel, new: ProcessModel):
    yield old.spec, new.spec
    for name in sorted(set(old.subprocess_specs) | set(new.subprocess_specs)):
        yield old.subprocess_specs.get(name), new.subprocess_specs.get(name)


def _bpmn_specs(spec: BpmnProcessSpec | None) -> dict[str, Any]:
    if spec is None:
        return {}
    return {s.bpmn_id: s for s in spec.task_specs.values() if getattr(s, "bpmn_id", None)}


def _describe(spec: Any, changes: list[str] | None = None) -> ElementChange:
    typename = type(spec).__name__
    return ElementChange(spec.bpmn_id, typename[:1].lower() + typename[1:], spec.bpmn_name, changes or [])


def _flows(xml: str, process_id: str) -> dict[str, tuple[str | None, str | None, str | None, str | None]]:
    content = xml.encode()
    root = read_xml("diagram.bpmn", content, Limits(max_bytes=max(len(content), 1)))
    process = next((p for p in root.iter(f"{{{BPMN}}}process") if p.get("id") == process_id), root)
    flows = {}
    for flow in process.iter(f"{{{BPMN}}}sequenceFlow"):
        condition = flow.find(f"{{{BPMN}}}conditionExpression")
        text = (condition.text or "").strip() if condition is not None else None
        flows[flow.get("id")] = (flow.get("name"), flow.get("sourceRef"), flow.get("targetRef"), text)
    return flows


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _by_id(change: ElementChange) -> str:
    return change.element_id

