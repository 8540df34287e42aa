"""Tables of the service-quality reports: the applicant's rating of a finished dossier (Art. 33)."""

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models import Base
from persistence.types import UTCDateTime, utcnow


class DossierRating(Base):
    """One rating per dossier: the primary key makes a second (or concurrent) rating fail, never overwrite."""

    __tablename__ = "dossier_ratings"

    dossier_code: Mapped[str] = mapped_column(ForeignKey("dossiers.code"), primary_key=True)
    score: Mapped[int] = mapped_column(Integer)  # 1 (very unsatisfied) … 5 (very satisfied)
    comment: Mapped[str | None] = mapped_column(Text)
    complaint: Mapped[str | None] = mapped_column(Text)  # a complaint (phản ánh, kiến nghị) lowers satisfaction
    channel: Mapped[str] = mapped_column(String(16), default="public")
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
