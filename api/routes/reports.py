"""Service-quality reports (JSON, CSV, XLSX) and the applicant's rating of a finished dossier."""

from datetime import UTC, date, datetime
from functools import lru_cache
from importlib.resources import files
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from api.dependencies import services
from app.calendar.workdays import LOCAL_TZ
from app.container import Services
from app.errors import InvalidInput
from app.reports.exports import periodic_xlsx, to_csv, to_xlsx
from app.reports.pages import ReportPages
from app.reports.pdf import periodic_pdf
from app.reports.periodic import PERIODS
from app.reports.ratings import RatingRequest, RatingService, RatingView
from app.reports.service import ReportService
from app.reports.shapes import QualityReport

router = APIRouter(prefix="/api/v1", tags=["reports"])
public_router = APIRouter(tags=["public"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Server-rendered pages: no script runs; styles and the SVG bars are inline; the period form posts to itself.
HTML_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'self'"


@lru_cache(maxsize=1)
def pages() -> ReportPages:
    return ReportPages(files("api") / "web")


def html(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status,
                        headers={"Content-Security-Policy": HTML_POLICY, "X-Content-Type-Options": "nosniff"})


async def report_service(s: Annotated[Services, Depends(services)]) -> ReportService:
    return s.reports


async def rating_service(s: Annotated[Services, Depends(services)]) -> RatingService:
    return s.ratings


Reports = Annotated[ReportService, Depends(report_service)]
Ratings = Annotated[RatingService, Depends(rating_service)]


@router.get("/reports/service-quality", response_model=QualityReport, response_model_by_alias=True,
            responses={200: {"content": {"text/csv": {}, XLSX: {}}}})
def service_quality(reports: Reports,
                    period_from: Annotated[date, Query(alias="from")],
                    period_to: Annotated[date, Query(alias="to")],
                    group_by: Annotated[str, Query(alias="groupBy", max_length=16)] = "city",
                    unit: Annotated[str | None, Query(max_length=32)] = None,
                    fmt: Annotated[Literal["json", "csv", "xlsx"], Query(alias="format")] = "json"):
    """Chỉ số chất lượng (QĐ 766): hồ sơ tiếp nhận trong kỳ, nhóm theo city|unit|procedure|sector|level."""
    report = reports.service_quality(period_from, period_to, group_by, unit)
    if fmt == "json":
        return report
    name = f"chat-luong-{period_from:%Y%m%d}-{period_to:%Y%m%d}-{group_by}"
    content, media_type = (to_csv(report), "text/csv; charset=utf-8") if fmt == "csv" else (to_xlsx(report), XLSX)
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


@router.post("/public/dossiers/{code}/rating", status_code=201, response_model=RatingView,
             response_model_by_alias=True, tags=["public"])
def rate_dossier(code: str, body: RatingRequest, ratings: Ratings) -> RatingView:
    """Đánh giá mức độ hài lòng: một lần cho mỗi hồ sơ đã có kết quả (409 lần thứ hai)."""
    return ratings.rate(code, body)


@router.get("/reports/periodic", response_class=Response,
            responses={200: {"content": {"text/html": {}, XLSX: {}, "application/pdf": {}}}})
def periodic_report(reports: Reports, year: Annotated[int, Query(ge=2000, le=2100)],
                    period: Annotated[str, Query(description=f"Một trong: {', '.join(PERIODS)}", max_length=2)],
                    fmt: Annotated[Literal["html", "xlsx", "pdf"], Query(alias="format")] = "html") -> Response:
    """Báo cáo định kỳ (quý, 6 tháng, năm): toàn thành phố, theo đơn vị, thủ tục, lĩnh vực; HTML, XLSX hoặc PDF."""
    report = reports.periodic(year, period)
    if fmt == "html":
        return html(pages().render("periodic.html", report=report))
    if fmt == "pdf":
        return Response(periodic_pdf(report, files("api") / "web" / "static" / "fonts"), media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="bao-cao-{year}-{period}.pdf"'})
    return Response(periodic_xlsx(report), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="bao-cao-{year}-{period}.xlsx"'})


@public_router.get("/public/service-quality", response_class=HTMLResponse)
def public_service_quality(reports: Reports, period_from: Annotated[date | None, Query(alias="from")] = None,
                           period_to: Annotated[date | None, Query(alias="to")] = None) -> HTMLResponse:
    """Trang công khai chất lượng giải quyết TTHC theo đơn vị và thủ tục (không cần đăng nhập)."""
    today = datetime.now(UTC).astimezone(LOCAL_TZ).date()
    period_to = period_to or today
    period_from = period_from or date(period_to.year, 1, 1)
    context = {"period_from": period_from, "period_to": period_to, "error": None}
    try:
        city = reports.service_quality(period_from, period_to, "city")
        units = reports.service_quality(period_from, period_to, "unit")
        procedures = reports.service_quality(period_from, period_to, "procedure")
    except InvalidInput as exc:
        return html(pages().render("public.html", **{**context, "error": exc.detail}), status=422)
    return html(pages().render("public.html", **context, as_of=city.as_of, city=city.rows[0] if city.rows else None,
                               units=units.rows, procedures=procedures.rows))
