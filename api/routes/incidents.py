"""Incidents: background jobs that failed their last try, and retrying one."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.dependencies import Actor, services
from api.schemas import MAX_ID
from app.container import Services
from app.jobs.incidents import IncidentView

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


@router.get("")
def list_incidents(s: Annotated[Services, Depends(services)],
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[IncidentView]:
    return s.incidents.list(limit)


@router.post("/{incident_id}/retry")
def retry_incident(incident_id: Annotated[int, Path(ge=1, le=MAX_ID)], s: Annotated[Services, Depends(services)],
                   actor: Actor) -> IncidentView:
    return s.incidents.retry(incident_id, actor)
