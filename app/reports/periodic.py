"""The periodic reports the plan requires (quarter, half-year, year): one period, four groupings."""

from calendar import monthrange
from dataclasses import dataclass
from datetime import date

from app.errors import InvalidInput
from app.reports.shapes import QualityReport

PERIODS = {"Q1": (1, 3), "Q2": (4, 6), "Q3": (7, 9), "Q4": (10, 12), "H1": (1, 6), "H2": (7, 12), "Y": (1, 12)}
PERIOD_LABELS = {"Q1": "Quý I", "Q2": "Quý II", "Q3": "Quý III", "Q4": "Quý IV", "H1": "6 tháng đầu",
                 "H2": "6 tháng cuối", "Y": "Cả"}
SECTIONS = (("city", "Toàn thành phố"), ("unit", "Theo đơn vị"), ("procedure", "Theo thủ tục"),
            ("sector", "Theo lĩnh vực"))


@dataclass(frozen=True)
class PeriodicReport:
    year: int
    period: str
    label: str  # e.g. "Quý I năm 2025"
    sections: list[tuple[str, QualityReport]]  # (Vietnamese heading, report)


def period_bounds(year: int, period: str) -> tuple[date, date]:
    if period not in PERIODS:
        raise InvalidInput(f"Kỳ báo cáo '{period}' không có; dùng: {', '.join(PERIODS)}", field="period",
                           code="unknown_period")
    if not 2000 <= year <= 2100:
        raise InvalidInput("Năm báo cáo không hợp lệ", field="year", code="invalid_year")
    first, last = PERIODS[period]
    return date(year, first, 1), date(year, last, monthrange(year, last)[1])


def label_of(year: int, period: str) -> str:
    return f"{PERIOD_LABELS[period]} năm {year}"
