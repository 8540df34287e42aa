"""The applicant's satisfaction rating of a finished dossier (Art. 33): once per dossier, by code + ID number."""

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, NotFound
from app.shapes import CamelModel
from persistence.db import Database
from persistence.dossier_models import Dossier
from persistence.report_models import DossierRating

RATABLE = ("finished", "returned")


class RatingRequest(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    id_number: str = Field(min_length=6, max_length=32, description="Số CCCD/định danh của người nộp hồ sơ")
    score: int = Field(ge=1, le=5, description="1 rất không hài lòng … 5 rất hài lòng")
    comment: str | None = Field(default=None, max_length=2000)
    complaint: str | None = Field(default=None, max_length=4000, description="Phản ánh, kiến nghị (nếu có)")


class RatingView(CamelModel):
    dossier_code: str
    score: int
    comment: str | None
    complaint: str | None
    rated_at: datetime


class RatingService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def rate(self, code: str, request: RatingRequest) -> RatingView:
        try:
            with self.db.transaction() as session:
                dossier = session.get(Dossier, code)
                if dossier is None or dossier.applicant_id_number != request.id_number:
                    # The same answer for a wrong code and a wrong ID number: nothing to probe with.
                    raise NotFound("Không tìm thấy hồ sơ với mã và số giấy tờ đã nhập", field="code")
                if dossier.status not in RATABLE:
                    raise Conflict("Chỉ đánh giá được hồ sơ đã có kết quả", code="not_finished")
                complaint = (request.complaint or "").strip() or None
                rating = DossierRating(dossier_code=code, score=request.score, comment=request.comment,
                                       complaint=complaint, channel="public", rated_at=datetime.now(UTC))
                session.add(rating)
                # The primary key decides between two concurrent ratings: the second insert fails here.
                session.flush()
                view = RatingView.of(rating)
        except IntegrityError as exc:
            raise Conflict("Hồ sơ này đã được đánh giá", code="already_rated") from exc
        return view
