"""Deliver BPMN messages (e.g. the Ministry system's result) to the one instance waiting for them."""

from fastapi import APIRouter, Request

from api.dependencies import Actor, Instances, services
from api.schemas import MessageRequest
from app.processes.views import InstanceView

router = APIRouter(prefix="/api/v1", tags=["messages"])


@router.post("/messages", response_model=InstanceView, response_model_by_alias=True)
def deliver_message(body: MessageRequest, instances: Instances, actor: Actor, request: Request) -> InstanceView:
    if body.message_id is not None:
        return services(request).inbound.run(
            f"message:{body.message_id}", body.model_dump(mode="json", by_alias=True),
            lambda session: instances.message_in(session, body.message_name, business_key=body.business_key,
                                                 instance_id=body.process_instance_id, variables=body.variables,
                                                 actor=actor).model_dump(mode="json", by_alias=True))
    return instances.deliver_message(body.message_name, business_key=body.business_key,
                                     instance_id=body.process_instance_id, variables=body.variables, actor=actor)
