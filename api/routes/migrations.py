"""Versions of a process: what changed between two, and moving running instances from one to another."""

from fastapi import APIRouter

from api.dependencies import Actor, Migrations
from api.schemas import MigrationRequest
from app.processes.migrations import DiffView, MigrationReport

router = APIRouter(prefix="/api/v1", tags=["migrations"])


@router.get("/process-definitions/{definition_id}/diff/{other_id}", response_model=DiffView,
            response_model_by_alias=True)
def diff(definition_id: str, other_id: str, migrations: Migrations) -> DiffView:
    return migrations.diff(definition_id, other_id)


@router.post("/migrations/plan", response_model=MigrationReport, response_model_by_alias=True)
def plan(body: MigrationRequest, migrations: Migrations) -> MigrationReport:
    return migrations.plan(body.instance_ids, body.target_definition_id)


@router.post("/migrations/execute", response_model=MigrationReport, response_model_by_alias=True)
def execute(body: MigrationRequest, migrations: Migrations, actor: Actor) -> MigrationReport:
    return migrations.execute(body.instance_ids, body.target_definition_id, actor=actor)
