"""Spec and state (de)serialization: specs stored once per version, instance state saved without its spec."""

from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG

from app.engine.model import ElementInfo, ProcessModel
from app.engine.timer_events import CONVERTERS as TIMER_CONVERTERS

STATE_FORMAT = f"motcua-1/spiff-{SERIALIZER_VERSION}"


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """SpiffWorkflow's workflow converter minus the spec: the spec objects come from the version cache."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)  # tasks, data, correlations
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], model: ProcessModel | None = None,
                  script_engine: Any = None) -> BpmnWorkflow:
        if model is None:
            raise ValueError("a spec-less state needs its process model")
        workflow = self.target_class(model.spec, model.subprocess_specs, script_engine=script_engine,
                                     deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.get("bpmn_events", []))
        return workflow


_config = dict(CAMUNDA_CONFIG)
_config.update(TIMER_CONVERTERS)
_config[BpmnWorkflow] = SpeclessWorkflowConverter
_registry = BpmnWorkflowSerializer.configure(_config)
_full_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure({**CAMUNDA_CONFIG, **TIMER_CONVERTERS}))


def dump_model(model: ProcessModel) -> bytes:
    return orjson.dumps({
        "format": STATE_FORMAT,
        "key": model.key,
        "name": model.name,
        "spec": _registry.convert(model.spec),
        "subprocess_specs": {name: _registry.convert(s) for name, s in model.subprocess_specs.items()},
        "elements": {eid: info.as_dict() for eid, info in model.elements.items()},
    }, default=_fallback)


def load_model(blob: bytes) -> ProcessModel:
    data = orjson.loads(blob)
    return ProcessModel(
        key=data["key"],
        name=data["name"],
        spec=_registry.restore(data["spec"]),
        subprocess_specs={name: _registry.restore(s) for name, s in data["subprocess_specs"].items()},
        elements={eid: ElementInfo(**info) for eid, info in data["elements"].items()},
    )


def dump_state(workflow: BpmnWorkflow) -> bytes:
    _registry._encoder_mode = False
    dct = _registry.convert(workflow)
    dct["format"] = STATE_FORMAT
    return orjson.dumps(dct, default=_fallback)


def load_state(model: ProcessModel, blob: bytes, script_engine: Any) -> BpmnWorkflow:
    dct = orjson.loads(blob)
    dct.pop("format", None)
    return _registry.restore(dct, model=model, script_engine=script_engine)


def task_ids(blob: bytes) -> list[str]:
    """Every task id a saved state holds, its subprocesses' included (to copy a state under fresh ids)."""
    def collect(dct: dict[str, Any]) -> list[str]:
        ids = list(dct.get("tasks", {}))
        for sub in dct.get("subprocesses", {}).values():
            ids += collect(sub)
        return ids

    return list(dict.fromkeys(collect(orjson.loads(blob))))


def full_spiff_json(workflow: BpmnWorkflow) -> str:
    """SpiffWorkflow's own serialization, spec included: the size we compare our state with."""
    return _full_serializer.serialize_json(workflow)


def _fallback(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
