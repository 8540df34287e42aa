"""Shapes of the one-stop domain in and out (camelCase JSON)."""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from app.dossiers.status import DVCQG_CODE, LABEL_VI, Status
from app.shapes import CamelModel
from persistence.dossier_models import Dossier, DossierDocument


class Shape(CamelModel):
    """Every shape of this module."""


class Fee(Shape):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=500)
    amount: int = Field(ge=0, le=1_000_000_000)


class CatalogueDocument(Shape):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=2000)
    originals: int = Field(default=1, ge=0, le=20)
    copies: int = Field(default=0, ge=0, le=20)
    required: bool = True


class ProcedureIn(Shape):
    model_config = ConfigDict(extra="ignore")

    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")
    sample: bool = False
    name: str = Field(min_length=3, max_length=2000)
    short_name: str | None = Field(default=None, max_length=120)
    sector: str = Field(min_length=1, max_length=255)
    level: Literal["commune", "department"]
    competent_unit: str | None = Field(default=None, max_length=32)
    legal_days: float = Field(gt=0, le=365)
    legal_time_unit: Literal["working_days", "working_hours"] = "working_days"
    fees: list[Fee] = Field(default_factory=list)
    documents: list[CatalogueDocument] = Field(min_length=1)
    result_types: list[str] = Field(default_factory=list)
    diagram_key: str = Field(min_length=1, max_length=255)
    online_level: Literal["full", "partial", "none"] = "partial"
    boundary_free: bool = True
    moh_centralized: bool = False
    moh_cutover: date | None = None
    sources: list[str] = Field(default_factory=list)
    uncertain: list[str] = Field(default_factory=list)

    @field_validator("documents")
    @classmethod
    def _unique_documents(cls, documents: list[CatalogueDocument]) -> list[CatalogueDocument]:
        codes = [d.code for d in documents]
        if len(codes) != len(set(codes)):
            raise ValueError("mã giấy tờ bị trùng")
        return documents

    @model_validator(mode="after")
    def _moh_needs_cutover(self) -> "ProcedureIn":
        if self.moh_centralized and self.moh_cutover is None:
            raise ValueError("thủ tục thuộc hệ thống Bộ Y tế cần ngày chuyển đổi (mohCutover)")
        return self

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:  # stored as plain JSON-able values
        kwargs.setdefault("mode", "python")
        data = super().model_dump(**kwargs)
        for key in ("fees", "documents"):
            if key in data:
                data[key] = [dict(item) for item in data[key]]
        return data


class ProcedureView(Shape):
    code: str
    sample: bool
    name: str
    short_name: str | None
    sector: str
    level: str
    competent_unit: str | None
    legal_days: float
    legal_time_unit: str
    fees: list[Fee]
    documents: list[CatalogueDocument]
    result_types: list[str]
    diagram_key: str
    online_level: str
    boundary_free: bool
    moh_centralized: bool
    moh_cutover: date | None
    sources: list[str]
    uncertain: list[str]



class UnitView(Shape):
    code: str
    name: str
    type: str
    parent_code: str | None
    admin_code: str | None
    reception: bool
    sample: bool



class DocumentView(Shape):
    code: str
    name: str
    originals: int
    copies: int
    digitised: bool
    reused: bool
    from_national_store: bool
    reused_from: str | None
    file_sha256: str | None
    file_name: str | None
    content_type: str | None
    size_bytes: int | None

    @classmethod
    def of(cls, row: DossierDocument) -> "DocumentView":
        return cls(code=row.document_code, name=row.name, originals=row.originals or 0, copies=row.copies or 0,
                   digitised=bool(row.digitised), reused=bool(row.reused),
                   from_national_store=bool(row.from_national_store), reused_from=row.reused_from,
                   file_sha256=row.file_sha256, file_name=row.file_name, content_type=row.content_type,
                   size_bytes=row.size_bytes)


class DossierView(Shape):
    code: str
    procedure_code: str
    procedure_name: str | None = None
    process_instance_id: str
    channel: str
    applicant: dict[str, Any]
    receiving_unit: str
    competent_unit: str
    status: str
    status_code: int
    status_label: str
    stage: str
    current_step: str | None
    moh_route: bool
    received_at: datetime
    appointment_at: datetime
    finished_at: datetime | None
    returned_at: datetime | None
    stopped_at: datetime | None
    supplement_count: int
    supplement_request: dict[str, Any] | None
    extension_count: int
    extension: dict[str, Any] | None
    stop_reason: str | None
    fee_total: int
    fee_paid: bool
    payment_channel: str | None
    result: dict[str, Any] | None
    consultations: list[dict[str, Any]] = Field(default_factory=list)
    transfers: list[dict[str, Any]] = Field(default_factory=list)
    documents: list[DocumentView] = Field(default_factory=list)
    revision: int

    @classmethod
    def of(cls, row: Dossier, documents: list[DossierDocument] | None = None,
           procedure_name: str | None = None) -> "DossierView":
        status = Status(row.status)
        return cls(
            code=row.code, procedure_code=row.procedure_code, procedure_name=procedure_name,
            process_instance_id=row.process_instance_id, channel=row.channel, applicant=row.applicant,
            receiving_unit=row.receiving_unit, competent_unit=row.competent_unit, status=status.value,
            status_code=DVCQG_CODE[status], status_label=LABEL_VI[status], stage=row.stage,
            current_step=row.current_step, moh_route=row.moh_route, received_at=row.received_at,
            appointment_at=row.appointment_at, finished_at=row.finished_at, returned_at=row.returned_at,
            stopped_at=row.stopped_at, supplement_count=row.supplement_count,
            supplement_request=row.supplement_request, extension_count=row.extension_count,
            extension=row.extension, stop_reason=row.stop_reason, fee_total=row.fee_total, fee_paid=row.fee_paid,
            payment_channel=row.payment_channel, result=row.result, consultations=row.consultations or [],
            transfers=row.transfers or [],
            documents=[DocumentView.of(d) for d in documents or []], revision=row.version,
        )


class PublicDossierView(Shape):
    """What anyone holding the code and the applicant's ID number may see: status and dates only."""

    code: str
    procedure_name: str
    status: str
    status_code: int
    status_label: str
    received_at: datetime
    appointment_at: datetime
    finished_at: datetime | None
    returned_at: datetime | None
