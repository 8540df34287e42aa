"""The service-quality report for a period and grouping: checks the parameters, then figures per group."""

from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.calendar.workdays import LOCAL_TZ
from app.errors import InvalidInput
from app.reports.figures import CITY, GROUPINGS, Counts, count_by_group
from app.reports.periodic import SECTIONS, PeriodicReport, label_of, period_bounds
from app.reports.quality import FIGURES, as_float, average_score, points, rates
from app.reports.shapes import FigureCheck, QualityReport, ReportRow
from app.reports.summary import refresh, refreshed_at, summed
from persistence.db import Database
from persistence.dossier_models import Procedure, Unit

MAX_SPAN_DAYS = 5 * 366  # longer periods are refused: nobody reports on them and they are costly
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)  # beyond: no dossiers, and date arithmetic overflows
LEVEL_NAMES = {"commune": "Cấp xã", "department": "Cấp Sở"}


class ReportService:
    def __init__(self, db: Database, summary_max_age_seconds: float = 300.0) -> None:
        self.db = db
        self.max_age = timedelta(seconds=summary_max_age_seconds)

    def service_quality(self, period_from: date, period_to: date, group_by: str = "city",
                        unit: str | None = None, as_of: datetime | None = None) -> QualityReport:
        check_period(period_from, period_to)
        if group_by not in GROUPINGS:
            raise InvalidInput(f"Nhóm theo '{group_by}' không có; dùng: {', '.join(GROUPINGS)}", field="groupBy",
                               code="unknown_grouping")
        if as_of is None:
            # Now: from the daily summary, refreshed first when older than max_age; as_of says up to when.
            now = datetime.now(UTC)
            with self.db.read() as session:
                self._check_unit(session, unit)
                counted_to = refreshed_at(session)
            if counted_to is None or now - counted_to > self.max_age:
                self.refresh_summary(now)
            with self.db.read() as session:
                as_of = refreshed_at(session) or now
                counts = summed(session, period_from, period_to, group_by, unit)
                names = group_names(session, group_by, [c.group for c in counts])
        else:
            # Another instant: counted live from the dossier tables.
            start, end = local_day_start(period_from), local_day_start(period_to + timedelta(days=1))
            with self.db.read() as session:
                self._check_unit(session, unit)
                counts = count_by_group(session, start, end, group_by, as_of, unit)
                names = group_names(session, group_by, [c.group for c in counts])
        return QualityReport(period_from=period_from, period_to=period_to, group_by=group_by, unit=unit,
                             as_of=as_of, rows=[row_of(c, names.get(c.group, c.group)) for c in counts])

    def refresh_summary(self, now: datetime | None = None) -> int:
        with self.db.transaction() as session:
            return refresh(session, now or datetime.now(UTC))

    @staticmethod
    def _check_unit(session: Session, unit: str | None) -> None:
        if unit is not None and session.get(Unit, unit) is None:
            raise InvalidInput(f"Không có đơn vị '{unit}'", field="unit", code="unknown_unit")

    def periodic(self, year: int, period: str, as_of: datetime | None = None) -> PeriodicReport:
        """Quarterly, half-yearly or yearly report: the city, then per unit, procedure and sector."""
        period_from, period_to = period_bounds(year, period)
        sections = [(heading, self.service_quality(period_from, period_to, group_by, as_of=as_of))
                    for group_by, heading in SECTIONS]
        return PeriodicReport(year=year, period=period, label=label_of(year, period), sections=sections)


def check_period(period_from: date, period_to: date) -> None:
    for field, day in (("from", period_from), ("to", period_to)):
        if not EARLIEST <= day <= LATEST:
            raise InvalidInput(f"Ngày phải trong khoảng {EARLIEST:%d/%m/%Y}–{LATEST:%d/%m/%Y}", field=field,
                               code="date_out_of_range")
    if period_from > period_to:
        raise InvalidInput("Ngày bắt đầu phải trước hoặc bằng ngày kết thúc", field="to", code="invalid_period")
    if (period_to - period_from).days > MAX_SPAN_DAYS:
        raise InvalidInput("Kỳ báo cáo dài quá 5 năm", field="from", code="period_too_long")


def local_day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LOCAL_TZ).astimezone(UTC)


def group_names(session: Session, group_by: str, keys: list[str]) -> dict[str, str]:
    if group_by == "unit":
        return {code: name for code, name in session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(keys)))}
    if group_by == "procedure":
        rows = session.execute(select(Procedure.code, Procedure.short_name, Procedure.name)
                               .where(Procedure.code.in_(keys)))
        return {code: short or name for code, short, name in rows}
    if group_by == "level":
        return LEVEL_NAMES
    return {CITY: "Toàn thành phố"}


def row_of(c: Counts, name: str) -> ReportRow:
    values = rates(c)
    checks = []
    for figure in FIGURES:
        value = values[figure.key]
        checks.append(FigureCheck(
            figure=figure.key, label=figure.label, value=as_float(value), target=as_float(figure.target),
            passed=None if value is None or figure.target is None else value >= figure.target,
            points=as_float(points(figure, value)), max_points=figure.points))
    scored = [(figure, points(figure, values[figure.key])) for figure in FIGURES if figure.points]
    earned = [p for _, p in scored if p is not None]
    counts = {k: v for k, v in asdict(c).items() if k not in ("group", "score_sum")}
    return ReportRow(
        group=c.group, group_name=name, **counts,
        rating_average=as_float(average_score(c)),
        **{_snake(k): as_float(v) for k, v in values.items()},
        points=float(sum(earned)) if earned else None,
        points_max=sum(f.points for f, p in scored if p is not None),
        checks=checks,
    )


def _snake(key: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in key)
