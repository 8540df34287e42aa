"""Worklists and task actions: list, read, claim, complete."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from api.dependencies import Actor, Instances, Queries
from api.idempotency import IdempotencyKey, once
from api.responses import model_json
from api.schemas import ClaimRequest, CompleteRequest
from app.processes.views import InstanceView, TaskView

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])


@router.get("", response_model=list[TaskView], response_model_by_alias=True)
def list_tasks(queries: Queries,
               process_instance_id: Annotated[str | None, Query(alias="processInstanceId")] = None,
               lane: str | None = None,
               candidate_group: Annotated[str | None, Query(alias="candidateGroup")] = None,
               assignee: str | None = None,
               status: Literal["open", "completed", "cancelled"] = "open",
               limit: Annotated[int, Query(ge=1, le=500)] = 100,
               offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> list[TaskView]:
    return queries.list_tasks(instance_id=process_instance_id, lane=lane, candidate_group=candidate_group,
                                assignee=assignee, status=status, limit=limit, offset=offset)


@router.get("/{task_id}", response_model=TaskView, response_model_by_alias=True)
def get_task(task_id: str, queries: Queries) -> TaskView:
    return queries.get_task(task_id)


@router.post("/{task_id}/claim", response_model=TaskView, response_model_by_alias=True)
def claim_task(task_id: str, body: ClaimRequest, instances: Instances, actor: Actor) -> Response:
    return model_json(instances.claim_task(task_id, body.assignee, actor=actor))


@router.post("/{task_id}/complete", response_model=InstanceView, response_model_by_alias=True)
def complete_task(task_id: str, instances: Instances, actor: Actor, request: Request,
                  idempotency_key: IdempotencyKey = None, body: CompleteRequest | None = None) -> Response:
    body = body or CompleteRequest()
    if idempotency_key:
        return model_json(once(request, idempotency_key, body,
                               lambda session: instances.complete_in(session, task_id, body.variables, actor)))
    return model_json(instances.complete_task(task_id, body.variables, actor=actor))
