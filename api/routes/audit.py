"""Check the hash chain of the audit log."""

from typing import Annotated

from fastapi import APIRouter, Depends

from api.dependencies import services
from app.container import Services
from app.shapes import CamelModel

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class VerifyView(CamelModel):
    ok: bool
    checked: int
    first_bad_event_id: int | None


@router.get("/verify", response_model=VerifyView, response_model_by_alias=True)
def verify(s: Annotated[Services, Depends(services)]) -> VerifyView:
    return VerifyView.model_validate(s.audit.verify())
