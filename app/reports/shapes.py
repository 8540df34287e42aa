"""The returned shapes of the service-quality report: rows of counts, rates, targets and points."""

from datetime import date, datetime

from pydantic import Field

from app.shapes import CamelModel


class FigureCheck(CamelModel):
    figure: str
    label: str
    value: float | None
    target: float | None
    passed: bool | None  # None when the figure has no denominator in this group
    points: float | None
    max_points: int


class ReportRow(CamelModel):
    group: str
    group_name: str
    received: int
    finished: int
    withdrawn: int
    evaluated: int
    on_time: int
    late: int
    overdue_with_apology: int
    open_overdue: int
    online: int
    full_online: int
    full_online_offered: int
    fee_bearing: int
    paid: int
    paid_online: int
    e_results: int
    digitised: int
    reused: int
    ratings: int
    rating_average: float | None
    complaints: int
    on_time_rate: float | None
    late_rate: float | None
    online_rate: float | None
    full_online_rate: float | None
    online_payment_rate: float | None
    online_payment_share: float | None
    e_result_rate: float | None
    digitisation_rate: float | None
    reuse_rate: float | None
    complaint_rate: float | None
    satisfaction_rate: float | None
    points: float | None
    points_max: int
    checks: list[FigureCheck]


class QualityReport(CamelModel):
    period_from: date = Field(alias="from")
    period_to: date = Field(alias="to")
    group_by: str
    unit: str | None = None
    as_of: datetime
    rows: list[ReportRow]
