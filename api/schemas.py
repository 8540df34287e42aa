"""Request bodies of the process API (camelCase JSON)."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class StartRequest(Body):
    business_key: str | None = Field(default=None, min_length=1, max_length=255)
    variables: dict[str, Any] = Field(default_factory=dict)


class CompleteRequest(Body):
    variables: dict[str, Any] = Field(default_factory=dict)


class ClaimRequest(Body):
    assignee: str = Field(min_length=1, max_length=255)


class MessageRequest(Body):
    message_name: str = Field(min_length=1, max_length=255)
    business_key: str | None = Field(default=None, min_length=1, max_length=255)
    process_instance_id: str | None = Field(default=None, min_length=1, max_length=36)
    variables: dict[str, Any] = Field(default_factory=dict)
    message_id: str | None = Field(default=None, min_length=1, max_length=200,
                                   description="Mã duy nhất của thông điệp; gửi lại cùng mã nhận lại kết quả lần đầu")


class ReasonRequest(Body):
    reason: str | None = Field(default=None, min_length=1, max_length=2000)


class TerminateRequest(Body):
    reason: str = Field(min_length=1, max_length=2000)


class MoveTokenRequest(Body):
    to_element_id: str = Field(min_length=1, max_length=255)
    from_task_id: str | None = Field(default=None, min_length=1, max_length=36)
    reason: str | None = Field(default=None, min_length=1, max_length=2000)


class MigrationRequest(Body):
    instance_ids: list[Annotated[str, Field(min_length=1, max_length=36)]] = Field(min_length=1, max_length=500)
    target_definition_id: str = Field(min_length=1, max_length=36)
