"""Rates, targets, pass/fail and Decision 766 points for one group's counts.

Rates are exact fractions (Fraction) until they leave as floats, so a hand-computed 19/20 compares equal.
Targets come from DOMAIN.md (Decision 766 and the Department's 2025 plan). The points are the weights
of the Decision 766 index groups that dossier data can measure; "công khai, minh bạch" (18 points) is
judged from the portal, not from dossiers, so the maximum here is 82.
"""

from dataclasses import dataclass
from fractions import Fraction

from app.reports.figures import Counts


@dataclass(frozen=True)
class Figure:
    key: str
    label: str  # Vietnamese, for exports and the public page
    target: Fraction | None
    points: int  # Decision 766 weight; full points at the target, pro-rated below it


FIGURES: tuple[Figure, ...] = (
    Figure("onTimeRate", "Tỷ lệ giải quyết đúng hạn", Fraction(97, 100), 20),
    Figure("onlineRate", "Tỷ lệ nộp trực tuyến", Fraction(50, 100), 0),
    Figure("fullOnlineRate", "Tỷ lệ hồ sơ trực tuyến toàn trình", Fraction(80, 100), 12),
    Figure("onlinePaymentRate", "Tỷ lệ hồ sơ thanh toán trực tuyến (trên hồ sơ có phí)", Fraction(80, 100), 10),
    Figure("onlinePaymentShare", "Tỷ lệ giao dịch thanh toán trực tuyến (trên mọi giao dịch)", Fraction(30, 100), 0),
    Figure("eResultRate", "Tỷ lệ trả kết quả điện tử", Fraction(80, 100), 0),
    Figure("digitisationRate", "Tỷ lệ số hoá hồ sơ", Fraction(80, 100), 11),
    Figure("reuseRate", "Tỷ lệ tái sử dụng dữ liệu số hoá", Fraction(80, 100), 11),
    Figure("satisfactionRate", "Mức độ hài lòng", Fraction(90, 100), 18),
)
FIGURE_BY_KEY = {f.key: f for f in FIGURES}


def ratio(numerator: int, denominator: int) -> Fraction | None:
    return Fraction(numerator, denominator) if denominator else None


def rates(c: Counts) -> dict[str, Fraction | None]:
    late_rate = ratio(c.late, c.evaluated)
    complaint_rate = ratio(c.complaints, c.evaluated)
    satisfaction = None if late_rate is None or complaint_rate is None else max(
        Fraction(0), 1 - late_rate - complaint_rate)
    return {
        "onTimeRate": ratio(c.on_time, c.evaluated),
        "lateRate": late_rate,
        "onlineRate": ratio(c.online, c.received),
        "fullOnlineRate": ratio(c.full_online, c.full_online_offered),
        "onlinePaymentRate": ratio(c.paid_online, c.fee_bearing),
        "onlinePaymentShare": ratio(c.paid_online, c.paid),
        "eResultRate": ratio(c.e_results, c.finished),
        "digitisationRate": ratio(c.digitised, c.received),
        "reuseRate": ratio(c.reused, c.received),
        "complaintRate": complaint_rate,
        "satisfactionRate": satisfaction,
    }


def points(figure: Figure, rate: Fraction | None) -> Fraction | None:
    """Full points at or above the target, pro-rated (points × rate / target) below it."""
    if rate is None or figure.target is None or not figure.points:
        return None
    return figure.points * min(Fraction(1), rate / figure.target)


def as_float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def average_score(c: Counts) -> Fraction | None:
    return ratio(c.score_sum, c.ratings)
