"""Builds the long-lived objects of one process (database, engine, services) from settings."""

from dataclasses import dataclass

from app.engine.cache import ModelCache
from app.engine.parsing import Limits
from app.engine.runtime import WorkflowEngine
from app.processes.deployments import DeploymentService
from app.processes.instances import InstanceService
from app.processes.queries import InstanceQueries
from app.settings import Settings
from persistence.db import Database


@dataclass
class Services:
    settings: Settings
    db: Database
    deployments: DeploymentService
    instances: InstanceService
    queries: InstanceQueries

    def close(self) -> None:
        self.db.dispose()


def build_services(settings: Settings) -> Services:
    db = Database(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        statement_timeout_ms=settings.db_statement_timeout_ms,
        sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
    )
    limits = Limits(max_bytes=settings.max_upload_bytes, max_elements=settings.max_bpmn_elements,
                    max_depth=settings.max_bpmn_depth)
    deployments = DeploymentService(db, ModelCache(), limits)
    engine = WorkflowEngine(script_timeout_seconds=settings.script_timeout_seconds)
    return Services(settings, db, deployments, InstanceService(db, engine, deployments), InstanceQueries(db))
