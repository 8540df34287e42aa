"""OAuth2 password flow and refresh (RFC 6749 field names), and who am I."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.dependencies import services
from api.security import Viewer
from app.container import Services
from app.errors import InvalidInput
from app.shapes import CamelModel

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class TokenResponse(BaseModel):
    """RFC 6749 §5.1 names, not camelCase: OAuth2 clients expect exactly these."""

    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    refresh_token: str = Field(alias="refreshToken", min_length=10, max_length=4096)


class MeView(CamelModel):
    subject: str
    role: str
    unit: str | None
    agency: str | None
    kind: str


@router.post("/token", response_model=TokenResponse)
async def token(s: Annotated[Services, Depends(services)],
                grant_type: Annotated[str, Form(max_length=32)] = "password",
                username: Annotated[str | None, Form(max_length=64)] = None,
                password: Annotated[str | None, Form(max_length=1024)] = None,
                refresh_token: Annotated[str | None, Form(max_length=4096)] = None) -> dict:
    if grant_type == "password" and username and password:
        return await run_in_threadpool(s.accounts.login, username, password)
    if grant_type == "refresh_token" and refresh_token:
        return await run_in_threadpool(s.accounts.refresh, refresh_token)
    raise InvalidInput("Dùng grant_type=password (username, password) hoặc grant_type=refresh_token",
                       field="grant_type", code="unsupported_grant_type")


@router.post("/refresh", response_model=TokenResponse)
def refresh(body: RefreshIn, s: Annotated[Services, Depends(services)]) -> dict:
    return s.accounts.refresh(body.refresh_token)


@router.get("/me", response_model=MeView, response_model_by_alias=True)
def me(who: Viewer) -> MeView:
    return MeView(subject=who.subject, role=who.role, unit=who.unit, agency=who.agency, kind=who.kind)
