"""Administrative operations on a process instance: suspend, resume, terminate, move a token back."""

from fastapi import APIRouter

from api.dependencies import Actor, Operations
from api.schemas import MoveTokenRequest, ReasonRequest, TerminateRequest
from app.processes.views import InstanceView

router = APIRouter(prefix="/api/v1/process-instances", tags=["process-instances"])


@router.post("/{instance_id}/suspend", response_model=InstanceView, response_model_by_alias=True)
def suspend(instance_id: str, operations: Operations, actor: Actor,
            body: ReasonRequest | None = None) -> InstanceView:
    return operations.suspend(instance_id, reason=(body or ReasonRequest()).reason, actor=actor)


@router.post("/{instance_id}/resume", response_model=InstanceView, response_model_by_alias=True)
def resume(instance_id: str, operations: Operations, actor: Actor,
           body: ReasonRequest | None = None) -> InstanceView:
    return operations.resume(instance_id, reason=(body or ReasonRequest()).reason, actor=actor)


@router.post("/{instance_id}/terminate", response_model=InstanceView, response_model_by_alias=True)
def terminate(instance_id: str, body: TerminateRequest, operations: Operations, actor: Actor) -> InstanceView:
    return operations.terminate(instance_id, reason=body.reason, actor=actor)


@router.post("/{instance_id}/move-token", response_model=InstanceView, response_model_by_alias=True)
def move_token(instance_id: str, body: MoveTokenRequest, operations: Operations, actor: Actor) -> InstanceView:
    return operations.move_token(instance_id, to_element_id=body.to_element_id, from_task_id=body.from_task_id,
                                 reason=body.reason, actor=actor)
