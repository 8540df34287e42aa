"""Builds the long-lived objects of one process (database, engine, services) from settings."""

from dataclasses import dataclass

from app.calendar.service import CalendarService
from app.dossiers.catalogue import CatalogueService
from app.dossiers.files import DocumentFiles, FileStore
from app.dossiers.lifecycle import LifecycleService
from app.dossiers.queries import DossierQueries
from app.dossiers.reception import ReceptionService
from app.dossiers.tracking import DossierTracker
from app.engine.cache import ModelCache
from app.engine.parsing import Limits
from app.engine.runtime import WorkflowEngine
from app.processes.deployments import DeploymentService
from app.processes.instances import InstanceService
from app.processes.queries import InstanceQueries
from app.reports.ratings import RatingService
from app.reports.service import ReportService
from app.settings import Settings
from persistence.db import Database


@dataclass
class Services:
    settings: Settings
    db: Database
    deployments: DeploymentService
    instances: InstanceService
    queries: InstanceQueries
    catalogue: CatalogueService
    reception: ReceptionService
    lifecycle: LifecycleService
    dossiers: DossierQueries
    files: DocumentFiles
    calendar: CalendarService
    reports: ReportService
    ratings: RatingService

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
    instances = InstanceService(db, engine, deployments)
    calendars = CalendarService(db)
    tracker = DossierTracker(calendars)
    instances.listeners.append(tracker)
    return Services(
        settings=settings, db=db, deployments=deployments, instances=instances, queries=InstanceQueries(db),
        catalogue=CatalogueService(db), reception=ReceptionService(instances, calendars, tracker),
        lifecycle=LifecycleService(instances, calendars), dossiers=DossierQueries(db, calendars),
        files=DocumentFiles(db, FileStore(settings.files_dir, settings.max_document_bytes)),
        calendar=calendars, reports=ReportService(db, settings.report_summary_max_age_seconds),
        ratings=RatingService(db),
    )
