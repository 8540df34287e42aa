"""Read models returned by the process services (JSON in camelCase)."""

from datetime import datetime
from typing import Any

from app.shapes import CamelModel
from persistence.models import HumanTask, ProcessInstance, Wait


class View(CamelModel):
    """Every shape of this module."""


class DefinitionView(View):
    id: str
    key: str
    version: int
    name: str | None
    sha256: str
    resource_name: str | None
    deployment_id: str
    created_at: datetime



class DeployedProcess(View):
    id: str
    key: str
    version: int
    name: str | None
    duplicate: bool = False


class DeploymentView(View):
    id: str
    duplicate: bool
    processes: list[DeployedProcess]


class TaskView(View):
    id: str
    process_instance_id: str
    element_id: str
    name: str | None
    lane: str | None
    lane_name: str | None
    candidate_groups: list[str]
    candidate_users: list[str]
    assignee: str | None
    status: str
    form: dict[str, Any] | None
    properties: dict[str, Any]
    created_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None



class WaitView(View):
    type: str
    name: str | None
    element_id: str
    due_at: datetime | None = None

    @classmethod
    def of(cls, row: Wait) -> "WaitView":
        return cls(type=row.kind, name=row.name, element_id=row.element_id, due_at=row.due_at)


class InstanceView(View):
    id: str
    definition_id: str
    key: str
    version: int
    business_key: str | None
    status: str
    variables: dict[str, Any]
    open_tasks: list[TaskView]
    waiting_for: list[WaitView]
    revision: int
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None

    @classmethod
    def of(cls, row: ProcessInstance, definition_version: int, tasks: list[HumanTask],
           waits: list[Wait]) -> "InstanceView":
        return cls(
            id=row.id, definition_id=row.definition_id, key=row.key, version=definition_version,
            business_key=row.business_key, status=row.status, variables=row.variables or {},
            open_tasks=[TaskView.of(t) for t in tasks], waiting_for=[WaitView.of(w) for w in waits],
            revision=row.version, created_at=row.created_at, updated_at=row.updated_at, ended_at=row.ended_at,
        )


class HistoryEntry(View):
    at: datetime
    type: str
    element_id: str | None
    actor: str | None
    data: dict[str, Any]

