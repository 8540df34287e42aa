"""Inputs of the dossier commands: reception and the lifecycle actions."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel


class Request(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Applicant(Request):
    type: Literal["citizen", "business", "agency", "other"]
    id_number: str = Field(min_length=6, max_length=32, pattern=r"^[A-Za-z0-9.\-/]+$",
                           description="CCCD/định danh cá nhân, mã số doanh nghiệp…")
    name: str = Field(min_length=2, max_length=255)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 .-]{8,16}$")
    email: str | None = Field(default=None, max_length=255, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    address: str | None = Field(default=None, max_length=500)


class ReceivedDocument(Request):
    code: str = Field(min_length=1, max_length=64)
    originals: int = Field(default=0, ge=0, le=50)
    copies: int = Field(default=0, ge=0, le=50)
    digitised: bool = False
    from_national_store: bool = False
    reuse_from: str | None = Field(default=None, max_length=64,
                                   description="Mã hồ sơ trước của cùng người nộp có giấy tờ này đã số hoá")


class ReceptionRequest(Request):
    procedure_code: str = Field(min_length=1, max_length=32)
    channel: Literal["counter", "online", "post"]
    receiving_unit: str = Field(min_length=1, max_length=32)
    competent_unit: str | None = Field(default=None, max_length=32,
                                       description="Cơ quan có thẩm quyền; cấp xã: mặc định là nơi tiếp nhận")
    applicant: Applicant
    documents: list[ReceivedDocument] = Field(min_length=1, max_length=100)
    received_at: datetime | None = Field(default=None, description="Thời điểm nhận, nếu không phải lúc này")
    fee_paid: bool = False
    payment_channel: Literal["cash", "transfer", "online"] | None = None

    @field_validator("received_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("cần có múi giờ, ví dụ 2026-01-05T08:00:00+07:00")
        return value


class SupplementRequest(Request):
    reason: str = Field(min_length=3, max_length=4000)
    documents: list[str] = Field(min_length=1, max_length=100, description="Các giấy tờ cần bổ sung, hoàn thiện")


class SupplementReceived(Request):
    note: str | None = Field(default=None, max_length=4000)


class RefuseRequest(Request):
    reason: str = Field(min_length=3, max_length=4000)


class WithdrawRequest(Request):
    reason: str = Field(default="Người nộp hồ sơ đề nghị rút hồ sơ", min_length=3, max_length=4000)


class ExtendRequest(Request):
    reason: str = Field(min_length=3, max_length=4000)
    days: int = Field(ge=1, le=60, description="Số ngày làm việc gia hạn")


class ReturnResultRequest(Request):
    result_number: str | None = Field(default=None, max_length=100)
    electronic: bool = True
    note: str | None = Field(default=None, max_length=4000)


class TransferRequest(Request):
    to_unit: str = Field(min_length=1, max_length=32)
    reason: str = Field(min_length=3, max_length=4000)


class ConsultRequest(Request):
    unit: str = Field(min_length=1, max_length=32, description="Cơ quan được lấy ý kiến")
    question: str = Field(min_length=3, max_length=4000)
    days: int = Field(ge=1, le=30, description="Thời hạn trả lời, ngày làm việc")


class ConsultAnswered(Request):
    consultation: int = Field(ge=1, description="Số thứ tự lần lấy ý kiến")
    answer: str = Field(min_length=1, max_length=4000)
