"""Service-quality reports (JSON, CSV, XLSX) and the applicant's rating of a finished dossier."""

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api.dependencies import services
from app.container import Services
from app.reports.exports import to_csv, to_xlsx
from app.reports.ratings import RatingRequest, RatingService, RatingView
from app.reports.service import ReportService
from app.reports.shapes import QualityReport

router = APIRouter(prefix="/api/v1", tags=["reports"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def report_service(s: Annotated[Services, Depends(services)]) -> ReportService:
    return s.reports


def rating_service(s: Annotated[Services, Depends(services)]) -> RatingService:
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
