"""Deliver BPMN messages (e.g. the Ministry system's result) to the one instance waiting for them."""

from fastapi import APIRouter, Request

from api.dependencies import Actor, Instances
from api.idempotency import once
from api.schemas import MessageRequest
from app.processes.views import InstanceView

router = APIRouter(prefix="/api/v1", tags=["messages"])


@router.post("/messages", response_model=InstanceView, response_model_by_alias=True)
def deliver_message(body: MessageRequest, instances: Instances, actor: Actor, request: Request) -> InstanceView:
    if body.message_id is not None:
        return once(request, body.message_id, body, lambda session: instances.message_in(
            session, body.message_name, business_key=body.business_key, instance_id=body.process_instance_id,
            variables=body.variables, actor=actor), namespace="message", field="messageId")
    return instances.deliver_message(body.message_name, business_key=body.business_key,
                                     instance_id=body.process_instance_id, variables=body.variables, actor=actor)
