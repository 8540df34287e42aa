"""Deploy BPMN/DMN files and read deployed process definitions."""

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from api.dependencies import Actor, Deployments
from app.engine.parsing import SourceFile
from app.errors import PayloadTooLarge
from app.processes.views import DefinitionView, DeploymentView

router = APIRouter(prefix="/api/v1", tags=["deployments"])


@router.post("/deployments", status_code=201, response_model=DeploymentView, response_model_by_alias=True)
async def deploy(deployments: Deployments, actor: Actor,
                 file: Annotated[list[UploadFile], File(description="One or more .bpmn / .dmn files")],
                 name: Annotated[str | None, Form(max_length=255)] = None) -> DeploymentView:
    limit = deployments.limits.max_bytes
    sources = []
    for upload in file:
        content = await upload.read(limit + 1)
        if len(content) > limit:
            raise PayloadTooLarge(f"'{upload.filename}' vượt quá {limit} byte")
        sources.append(SourceFile(upload.filename or "diagram.bpmn", content))
    return await run_in_threadpool(deployments.deploy, sources, name=name, actor=actor)


@router.get("/process-definitions", response_model=list[DefinitionView], response_model_by_alias=True)
def list_definitions(deployments: Deployments, key: str | None = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100,
                     offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> list[DefinitionView]:
    return list(deployments.list_definitions(key, limit, offset))


@router.get("/process-definitions/{definition_id}", response_model=DefinitionView, response_model_by_alias=True)
def get_definition(definition_id: str, deployments: Deployments) -> DefinitionView:
    return deployments.get(definition_id)


@router.get("/process-definitions/{definition_id}/xml", response_class=Response,
            responses={200: {"content": {"application/xml": {}}}})
def get_definition_xml(definition_id: str, deployments: Deployments) -> Response:
    return Response(deployments.xml(definition_id), media_type="application/xml")
