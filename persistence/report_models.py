"""Tables of the service-quality reports: ratings (Art. 33) and the daily summary the reports read."""

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from persistence.dossier_models import Dossier
from persistence.models import Base
from persistence.types import UTCDateTime, utcnow


class DossierRating(Base):
    """One rating per dossier: the primary key makes a second (or concurrent) rating fail, never overwrite."""

    __tablename__ = "dossier_ratings"
    __table_args__ = (Index("ix_dossier_ratings_rated", "rated_at"),)

    dossier_code: Mapped[str] = mapped_column(ForeignKey("dossiers.code"), primary_key=True)
    score: Mapped[int] = mapped_column(Integer)  # 1 (very unsatisfied) … 5 (very satisfied)
    comment: Mapped[str | None] = mapped_column(Text)
    complaint: Mapped[str | None] = mapped_column(Text)  # a complaint (phản ánh, kiến nghị) lowers satisfaction
    channel: Mapped[str] = mapped_column(String(16), default="public")
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QualityDaily(Base):
    """Counts of the dossiers received on one local day, per competent unit and procedure.

    A derived table: rebuilt for the days whose dossiers changed (app/reports/summary.py), never edited.
    The columns are those of app.reports.figures.Counts.
    """

    __tablename__ = "quality_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    competent_unit: Mapped[str] = mapped_column(String(32), primary_key=True)
    procedure_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    received: Mapped[int] = mapped_column(Integer)
    withdrawn: Mapped[int] = mapped_column(Integer)
    evaluated: Mapped[int] = mapped_column(Integer)
    finished: Mapped[int] = mapped_column(Integer)
    on_time: Mapped[int] = mapped_column(Integer)
    late: Mapped[int] = mapped_column(Integer)
    overdue_with_apology: Mapped[int] = mapped_column(Integer)
    open_overdue: Mapped[int] = mapped_column(Integer)
    online: Mapped[int] = mapped_column(Integer)
    full_online_offered: Mapped[int] = mapped_column(Integer)
    full_online: Mapped[int] = mapped_column(Integer)
    fee_bearing: Mapped[int] = mapped_column(Integer)
    paid: Mapped[int] = mapped_column(Integer)
    paid_online: Mapped[int] = mapped_column(Integer)
    e_results: Mapped[int] = mapped_column(Integer)
    digitised: Mapped[int] = mapped_column(Integer)
    reused: Mapped[int] = mapped_column(Integer)
    ratings: Mapped[int] = mapped_column(Integer)
    score_sum: Mapped[int] = mapped_column(Integer)
    complaints: Mapped[int] = mapped_column(Integer)


class ReportRefresh(Base):
    """Watermark of the daily summary: dossiers changed after `refreshed_at` are not in it yet."""

    __tablename__ = "report_refreshes"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)


# Indexes on the dossier table that only the reports need (created by migration 0008).
Index("ix_dossiers_received", Dossier.received_at)
Index("ix_dossiers_updated", Dossier.updated_at)
