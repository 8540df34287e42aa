"""The working-day calendar: days with reasons, admin overrides, working-day arithmetic."""

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.dependencies import Actor, Calendar
from api.schemas import MAX_INT32

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    date: date
    kind: Literal["day-off", "working-day"]
    reason: str = Field(min_length=3, max_length=1000)
    legal_reference: str | None = Field(default=None, alias="legalReference", max_length=255)


@router.get("")
def calendar_days(calendar: Calendar, start: Annotated[date, Query(alias="from")],
                  end: Annotated[date, Query(alias="to")]) -> list[dict]:
    return calendar.days(start, end)


@router.get("/overrides")
def list_overrides(calendar: Calendar) -> list[dict]:
    return calendar.overrides()


@router.post("/overrides", status_code=201)
def add_override(body: OverrideIn, calendar: Calendar, actor: Actor) -> dict:
    return calendar.add_override(body.date, body.kind, body.reason, body.legal_reference, actor)


@router.delete("/overrides/{override_id}", status_code=204)
def delete_override(override_id: Annotated[int, Path(ge=1, le=MAX_INT32)], calendar: Calendar) -> Response:
    calendar.delete_override(override_id)
    return Response(status_code=204)


@router.get("/add-workdays")
def add_workdays(calendar: Calendar, start: date, days: Annotated[int, Query(ge=0, le=3660)]) -> dict[str, str]:
    return {"date": calendar.add_workdays(start, days).isoformat()}
