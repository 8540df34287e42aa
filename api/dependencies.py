"""FastAPI dependencies: the process's services and the acting person."""

from typing import Annotated

from fastapi import Depends, Header, Request

from app.container import Services
from app.processes.deployments import DeploymentService
from app.processes.instances import InstanceService
from app.processes.queries import InstanceQueries


def services(request: Request) -> Services:
    return request.app.state.services


def deployment_service(s: Annotated[Services, Depends(services)]) -> DeploymentService:
    return s.deployments


def instance_service(s: Annotated[Services, Depends(services)]) -> InstanceService:
    return s.instances


def instance_queries(s: Annotated[Services, Depends(services)]) -> InstanceQueries:
    return s.queries


def actor(x_actor: Annotated[str | None, Header(max_length=255)] = None) -> str | None:
    """Who acts, for the history. Until authentication lands (security issue) callers name themselves."""
    return x_actor


Deployments = Annotated[DeploymentService, Depends(deployment_service)]
Instances = Annotated[InstanceService, Depends(instance_service)]
Queries = Annotated[InstanceQueries, Depends(instance_queries)]
Actor = Annotated[str | None, Depends(actor)]
