"""Immutable parsed process models shared by all instances of one deployed version."""

from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec


@dataclass(frozen=True)
class ElementInfo:
    """What the engine does not keep about a human task but worklists need (Camunda attributes, lane)."""

    element_id: str
    kind: str
    name: str | None = None
    lane: str | None = None
    lane_name: str | None = None
    candidate_groups: list[str] = field(default_factory=list)
    candidate_users: list[str] = field(default_factory=list)
    assignee: str | None = None
    due_date: str | None = None
    follow_up_date: str | None = None
    form: dict[str, Any] | None = None
    properties: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ProcessModel:
    key: str
    name: str | None
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    elements: dict[str, ElementInfo]
