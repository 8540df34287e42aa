"""Request bodies of the process API (camelCase JSON)."""

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

MAX_ID = 2**63 - 1  # BigInteger ids (64-bit in both databases)
MAX_INT32 = 2**31 - 1  # Integer ids: 32-bit on PostgreSQL


def _storable(value: Any) -> Any:
    """Refuse what JSON allows but the databases and the idempotency hash cannot hold: integers beyond 64 bits
    and strings with lone UTF-16 surrogates (not encodable as UTF-8)."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        if not -MAX_ID - 1 <= value <= MAX_ID:
            raise ValueError("số nguyên vượt quá 64 bit")
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("chuỗi chứa ký tự không hợp lệ (surrogate)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _storable(key)
            _storable(item)
    elif isinstance(value, list):
        for item in value:
            _storable(item)
    return value


Variables = Annotated[dict[str, Any], AfterValidator(_storable)]


class Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class StartRequest(Body):
    business_key: str | None = Field(default=None, min_length=1, max_length=255)
    variables: Variables = Field(default_factory=dict)


class CompleteRequest(Body):
    variables: Variables = Field(default_factory=dict)


class ClaimRequest(Body):
    assignee: str = Field(min_length=1, max_length=255)


class MessageRequest(Body):
    message_name: str = Field(min_length=1, max_length=255)
    business_key: str | None = Field(default=None, min_length=1, max_length=255)
    process_instance_id: str | None = Field(default=None, min_length=1, max_length=36)
    variables: Variables = Field(default_factory=dict)
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
