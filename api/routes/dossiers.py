"""Dossiers: reception, worklists, the dossier page and its lifecycle actions; public lookup."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Query, Request, UploadFile
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from api.dependencies import Actor, Dossiers, Files, Lifecycle, Reception
from api.idempotency import IdempotencyKey, once
from api.security import Viewer, default_unit
from app.dossiers.requests import ReceptionRequest
from app.dossiers.views import DocumentView, DossierView, PublicDossierView
from app.errors import PayloadTooLarge

router = APIRouter(prefix="/api/v1", tags=["dossiers"])


@router.post("/dossiers", status_code=201, response_model=DossierView, response_model_by_alias=True)
def receive_dossier(body: ReceptionRequest, reception: Reception, actor: Actor, request: Request,
                    idempotency_key: IdempotencyKey = None) -> DossierView:
    if idempotency_key:
        return once(request, idempotency_key, body, lambda session: reception.receive_in(session, body, actor))
    return reception.receive(body, actor)


@router.get("/dossiers", response_model=list[DossierView], response_model_by_alias=True)
def worklist(dossiers: Dossiers, viewer: Viewer, unit: Annotated[str | None, Query(max_length=32)] = None,
             queue: Annotated[str | None, Query(max_length=32)] = None,
             status: Annotated[str | None, Query(max_length=32)] = None,
             procedure: Annotated[str | None, Query(max_length=32)] = None,
             role: Annotated[str | None, Query(max_length=64, description="Vai trò của bước đang mở")] = None,
             sort: str = "appointment",
             limit: Annotated[int, Query(ge=1, le=500)] = 50,
             offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> list[DossierView]:
    return dossiers.worklist(unit=default_unit(viewer, unit), queue=queue, status=status, procedure=procedure,
                             role=role, sort=sort, limit=limit, offset=offset)


@router.get("/dossiers/queues", response_model=dict[str, int])
def queue_counts(dossiers: Dossiers, viewer: Viewer,
                 unit: Annotated[str | None, Query(max_length=32)] = None) -> dict[str, int]:
    return dossiers.queue_counts(default_unit(viewer, unit))


@router.get("/dossiers/{code}", response_model=DossierView, response_model_by_alias=True)
def get_dossier(code: str, dossiers: Dossiers) -> DossierView:
    return dossiers.get(code)


@router.post("/dossiers/{code}/actions/{action}", response_model=DossierView, response_model_by_alias=True)
def act_on_dossier(code: str, action: str, lifecycle: Lifecycle, actor: Actor,
                   body: Annotated[dict[str, Any] | None, Body()] = None) -> DossierView:
    return lifecycle.act(code, action, body or {}, actor)


@router.put("/dossiers/{code}/documents/{document_code}/file", response_model=DocumentView,
            response_model_by_alias=True)
async def attach_file(code: str, document_code: str, files: Files, actor: Actor,
                      file: Annotated[UploadFile, File(description="PDF, PNG hoặc JPEG")]) -> DocumentView:
    content = await file.read(files.store.max_bytes + 1)
    if len(content) > files.store.max_bytes:
        raise PayloadTooLarge(f"Tệp vượt quá {files.store.max_bytes} byte")
    return await run_in_threadpool(files.attach, code, document_code, content, file.filename, actor)


@router.get("/dossiers/{code}/documents/{document_code}/file", response_class=FileResponse)
def download_file(code: str, document_code: str, files: Files) -> FileResponse:
    path, content_type, name = files.read(code, document_code)
    return FileResponse(path, media_type=content_type, filename=name)


@router.get("/public/dossiers/{code}", response_model=PublicDossierView, response_model_by_alias=True,
            tags=["public"])
def public_lookup(code: str, dossiers: Dossiers,
                  id_number: Annotated[str, Query(alias="idNumber", min_length=6, max_length=32)]) -> PublicDossierView:
    return dossiers.public(code, id_number)
