"""The procedure catalogue and the units."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.dependencies import Catalogue
from app.dossiers.views import ProcedureIn, ProcedureView, UnitView

router = APIRouter(prefix="/api/v1", tags=["catalogue"])
UnitType = Literal["department", "division", "commune", "ward", "special-zone"]


@router.get("/procedures", response_model=list[ProcedureView], response_model_by_alias=True)
def search_procedures(catalogue: Catalogue, q: Annotated[str | None, Query(max_length=200)] = None,
                      level: Literal["commune", "department"] | None = None,
                      limit: Annotated[int, Query(ge=1, le=500)] = 100,
                      offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> list[ProcedureView]:
    return catalogue.search(q, level, limit, offset)


@router.get("/procedures/{code}", response_model=ProcedureView, response_model_by_alias=True)
def get_procedure(code: str, catalogue: Catalogue) -> ProcedureView:
    return catalogue.get(code)


@router.post("/procedures", status_code=201, response_model=ProcedureView, response_model_by_alias=True)
def create_procedure(body: ProcedureIn, catalogue: Catalogue) -> ProcedureView:
    return catalogue.create(body)


@router.put("/procedures/{code}", response_model=ProcedureView, response_model_by_alias=True)
def update_procedure(code: str, body: ProcedureIn, catalogue: Catalogue) -> ProcedureView:
    return catalogue.update(code, body)


@router.get("/units", response_model=list[UnitView], response_model_by_alias=True)
def list_units(catalogue: Catalogue, q: Annotated[str | None, Query(max_length=200)] = None,
               type: UnitType | None = None) -> list[UnitView]:
    return catalogue.units(q, type)
