"""Start process instances and read them with their open tasks, waits and history."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from api.dependencies import Actor, Instances, Queries
from api.idempotency import IdempotencyKey, once
from api.schemas import StartRequest
from app.processes.views import HistoryEntry, InstanceView

router = APIRouter(prefix="/api/v1", tags=["process-instances"])
Status = Literal["running", "completed", "suspended", "terminated"]


@router.post("/process-definitions/key/{key}/start", status_code=201, response_model=InstanceView,
             response_model_by_alias=True)
def start_by_key(key: str, instances: Instances, actor: Actor, request: Request, idempotency_key: IdempotencyKey = None,
                 body: StartRequest | None = None) -> InstanceView:
    body = body or StartRequest()
    if idempotency_key:
        return once(request, idempotency_key, body, lambda session: instances.start_in(
            session, key=key, business_key=body.business_key, variables=body.variables, actor=actor))
    return instances.start(key=key, business_key=body.business_key, variables=body.variables, actor=actor)


@router.post("/process-definitions/{definition_id}/start", status_code=201, response_model=InstanceView,
             response_model_by_alias=True)
def start_by_id(definition_id: str, instances: Instances, actor: Actor, request: Request,
                idempotency_key: IdempotencyKey = None, body: StartRequest | None = None) -> InstanceView:
    body = body or StartRequest()
    if idempotency_key:
        return once(request, idempotency_key, body, lambda session: instances.start_in(
            session, definition_id=definition_id, business_key=body.business_key, variables=body.variables,
            actor=actor))
    return instances.start(definition_id=definition_id, business_key=body.business_key,
                           variables=body.variables, actor=actor)


@router.get("/process-instances", response_model=list[InstanceView], response_model_by_alias=True)
def list_instances(queries: Queries, key: str | None = None,
                   business_key: Annotated[str | None, Query(alias="businessKey")] = None,
                   status: Status | None = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50,
                   offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> list[InstanceView]:
    return queries.list_instances(key=key, business_key=business_key, status=status, limit=limit, offset=offset)


@router.get("/process-instances/{instance_id}", response_model=InstanceView, response_model_by_alias=True)
def get_instance(instance_id: str, queries: Queries) -> InstanceView:
    return queries.get(instance_id)


@router.get("/process-instances/{instance_id}/history", response_model=list[HistoryEntry],
            response_model_by_alias=True)
def get_history(instance_id: str, queries: Queries) -> list[HistoryEntry]:
    return queries.history(instance_id)
