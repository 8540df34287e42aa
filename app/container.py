"""Builds the long-lived objects of one process (database, engine, services) from settings."""

from dataclasses import dataclass
from datetime import datetime

from app.calendar.service import CalendarService
from app.dossiers.catalogue import CatalogueService
from app.dossiers.changes import DossierChanges
from app.dossiers.deadlines import DeadlineScan
from app.dossiers.files import DocumentFiles, FileStore
from app.dossiers.lifecycle import LifecycleService
from app.dossiers.queries import DossierQueries
from app.dossiers.reception import ReceptionService
from app.dossiers.tracking import DossierTracker
from app.dossiers.worklist_counts import WorklistCounts
from app.engine.cache import ModelCache
from app.engine.parsing import Limits
from app.engine.runtime import WorkflowEngine
from app.integrations import connectors
from app.integrations.callbacks import SignedCallbacks, keep_ministry_id
from app.integrations.dispatch import OutboxAdmin, OutboxDispatcher, Retry
from app.integrations.inbound import InboundOnce
from app.integrations.outbox import (
    DVCQG,
    MOH,
    MOH_HANDOVER,
    PAYMENT,
    DvcqgSync,
    MohHandover,
    PaymentRequest,
    StaffNotices,
)
from app.jobs.incidents import IncidentService
from app.jobs.timer_starts import TimerStartHandler, schedule_timer_starts
from app.jobs.timers import TimerHandler, sync_timer_jobs
from app.jobs.worker import Pump, Worker, WorkerOptions
from app.observability.metrics import transition_listener
from app.processes.deployments import DeploymentService
from app.processes.diagrams import DiagramService
from app.processes.instances import InstanceService
from app.processes.migrations import MigrationService
from app.processes.operations import InstanceOperations
from app.processes.queries import InstanceQueries
from app.processes.retention import Archiver
from app.reports.ratings import RatingService
from app.reports.service import ReportService
from app.security import access
from app.security.accounts import AccountService
from app.security.audit import AuditLog
from app.security.tokens import TokenService
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
    worklist_counts: WorklistCounts
    files: DocumentFiles
    calendar: CalendarService
    inbound: InboundOnce
    callbacks: SignedCallbacks
    outbox: OutboxAdmin
    incidents: IncidentService
    worker: Worker
    operations: InstanceOperations
    diagrams: DiagramService
    migrations: MigrationService
    accounts: AccountService
    audit: AuditLog
    reports: ReportService
    ratings: RatingService
    archiver: Archiver

    def close(self) -> None:
        self.db.dispose()


def build_dispatcher(settings: Settings, db: Database) -> OutboxDispatcher:
    """The outbox dispatcher with a connector for each integration whose base URL is configured."""
    made = {DVCQG: (connectors.dvcqg_connector, settings.dvcqg_base_url, settings.dvcqg_token),
            MOH: (connectors.moh_connector, settings.moh_base_url, settings.moh_token),
            PAYMENT: (connectors.payment_connector, settings.payment_base_url, settings.payment_token)}
    configured = {topic: make(url, token, settings.connector_timeout_seconds)
                  for topic, (make, url, token) in made.items() if url}
    retry = Retry(settings.outbox_max_attempts, settings.outbox_base_delay_seconds, settings.outbox_max_delay_seconds)
    return OutboxDispatcher(db, configured, retry=retry, handlers={MOH_HANDOVER: keep_ministry_id},
                            batch_size=settings.outbox_batch_size)


def _outbox_pumps(dispatcher: OutboxDispatcher) -> list[Pump]:
    """The worker delivers the outbox on every tick, when any receiver is configured."""
    def deliver_outbox(now: datetime) -> int:
        outcome = dispatcher.deliver_due(now)
        return outcome.delivered + outcome.failed + outcome.incidents
    return [deliver_outbox] if dispatcher.connectors else []


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
    deployments.listeners.append(schedule_timer_starts)
    engine = WorkflowEngine(script_timeout_seconds=settings.script_timeout_seconds)
    instances = InstanceService(db, engine, deployments)
    calendars = CalendarService(db)
    changes = DossierChanges()
    changes.listeners += [DvcqgSync(), MohHandover(), PaymentRequest(), StaffNotices()]
    tracker = DossierTracker(calendars, changes)
    instances.listeners.append(tracker)
    inbound = InboundOnce(instances)
    instances.calendar_source = calendars.working_calendar
    instances.listeners.append(sync_timer_jobs)
    instances.listeners.append(transition_listener)
    audit = AuditLog(db)
    instances.completion_guards.append(access.check_in_command)
    db.on_write_commit(access.require_pending_check)
    lifecycle = LifecycleService(instances, calendars, changes)
    options = WorkerOptions(
        batch_size=settings.job_batch_size, concurrency=settings.job_concurrency,
        lease_seconds=settings.job_lease_seconds, max_attempts=settings.job_max_attempts,
        backoff_seconds=settings.job_backoff_seconds, poll_seconds=settings.worker_poll_seconds,
        scan_interval_seconds=settings.scan_interval_seconds, heartbeat_seconds=settings.worker_heartbeat_seconds)
    worklist_counts = WorklistCounts(db)
    worker = Worker(db, [TimerHandler(instances), TimerStartHandler(instances)],
                    scans=[DeadlineScan(db, calendars, changes), lifecycle.close_unanswered_supplements,
                           worklist_counts.compact_scan],
                    options=options, pumps=[audit.pump, *_outbox_pumps(build_dispatcher(settings, db))])
    return Services(
        settings=settings, db=db, deployments=deployments, instances=instances, queries=InstanceQueries(db),
        catalogue=CatalogueService(db), reception=ReceptionService(instances, calendars, tracker),
        lifecycle=lifecycle, dossiers=DossierQueries(db, calendars), worklist_counts=worklist_counts,
        files=DocumentFiles(db, FileStore(settings.files_dir, settings.max_document_bytes)),
        calendar=calendars, inbound=inbound,
        callbacks=SignedCallbacks(instances, inbound, moh_secret=settings.moh_callback_secret,
                                  payment_secret=settings.payment_callback_secret,
                                  window_seconds=settings.callback_window_seconds),
        outbox=OutboxAdmin(db), incidents=IncidentService(db), worker=worker,
        operations=InstanceOperations(instances),
        diagrams=DiagramService(instances), migrations=MigrationService(instances),
        accounts=AccountService(db, TokenService(settings), settings.bootstrap_api_key), audit=audit,
        reports=ReportService(db, settings.report_summary_max_age_seconds),
        ratings=RatingService(db),
        archiver=Archiver(db),
    )
