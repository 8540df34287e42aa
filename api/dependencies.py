"""FastAPI dependencies: the process's services and the acting person.

All `async def`: they only read attributes, and FastAPI runs a plain `def` dependency in the threadpool (a
thread hop per dependency per request).
"""

from typing import Annotated

from fastapi import Depends, Request

from app.calendar.service import CalendarService
from app.container import Services
from app.dossiers.catalogue import CatalogueService
from app.dossiers.files import DocumentFiles
from app.dossiers.lifecycle import LifecycleService
from app.dossiers.queries import DossierQueries
from app.dossiers.reception import ReceptionService
from app.processes.deployments import DeploymentService
from app.processes.diagrams import DiagramService
from app.processes.instances import InstanceService
from app.processes.migrations import MigrationService
from app.processes.operations import InstanceOperations
from app.processes.queries import InstanceQueries


async def services(request: Request) -> Services:
    return request.app.state.services


async def deployment_service(s: Annotated[Services, Depends(services)]) -> DeploymentService:
    return s.deployments


async def instance_service(s: Annotated[Services, Depends(services)]) -> InstanceService:
    return s.instances


async def instance_queries(s: Annotated[Services, Depends(services)]) -> InstanceQueries:
    return s.queries


async def actor(request: Request) -> str | None:
    """Who acts, for the history: the authenticated principal (api/security.py sets it before the route).

    X-Actor is honoured only for system-admin API keys acting for a named person of an integrated system.
    """
    who = getattr(request.state, "principal", None)
    return who.actor if who else None


Deployments = Annotated[DeploymentService, Depends(deployment_service)]
Instances = Annotated[InstanceService, Depends(instance_service)]
Queries = Annotated[InstanceQueries, Depends(instance_queries)]
Actor = Annotated[str | None, Depends(actor)]


async def catalogue_service(s: Annotated[Services, Depends(services)]) -> CatalogueService:
    return s.catalogue


async def reception_service(s: Annotated[Services, Depends(services)]) -> ReceptionService:
    return s.reception


async def lifecycle_service(s: Annotated[Services, Depends(services)]) -> LifecycleService:
    return s.lifecycle


async def dossier_queries(s: Annotated[Services, Depends(services)]) -> DossierQueries:
    return s.dossiers


Catalogue = Annotated[CatalogueService, Depends(catalogue_service)]
Reception = Annotated[ReceptionService, Depends(reception_service)]
Lifecycle = Annotated[LifecycleService, Depends(lifecycle_service)]
Dossiers = Annotated[DossierQueries, Depends(dossier_queries)]


async def document_files(s: Annotated[Services, Depends(services)]) -> DocumentFiles:
    return s.files


Files = Annotated[DocumentFiles, Depends(document_files)]


async def calendar_service(s: Annotated[Services, Depends(services)]) -> CalendarService:
    return s.calendar


Calendar = Annotated[CalendarService, Depends(calendar_service)]


async def instance_operations(s: Annotated[Services, Depends(services)]) -> InstanceOperations:
    return s.operations


Operations = Annotated[InstanceOperations, Depends(instance_operations)]


async def diagram_service(s: Annotated[Services, Depends(services)]) -> DiagramService:
    return s.diagrams


Diagrams = Annotated[DiagramService, Depends(diagram_service)]


async def migration_service(s: Annotated[Services, Depends(services)]) -> MigrationService:
    return s.migrations


Migrations = Annotated[MigrationService, Depends(migration_service)]
