"""Deliver BPMN messages (e.g. the Ministry system's result) to the one instance waiting for them."""

from fastapi import APIRouter

from api.dependencies import Actor, Instances
from api.schemas import MessageRequest
from app.processes.views import InstanceView

router = APIRouter(prefix="/api/v1", tags=["messages"])


@router.post("/messages", response_model=InstanceView, response_model_by_alias=True)
def deliver_message(body: MessageRequest, instances: Instances, actor: Actor) -> InstanceView:
    return instances.deliver_message(body.message_name, business_key=body.business_key,
                                     instance_id=body.process_instance_id, variables=body.variables, actor=actor)
