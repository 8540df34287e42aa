"""The FastAPI application: routers, problem+json errors, request size guard."""

import gc
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import Depends, FastAPI

from api import errors, hardening
from api.observability import RequestId, RequestTiming
from api.routes import (
    audit,
    auth,
    calendar,
    catalogue,
    deployments,
    diagrams,
    dossiers,
    forms,
    health,
    incidents,
    instances,
    integrations,
    messages,
    metrics,
    migrations,
    operations,
    reports,
    tasks,
    web_accounts,
    web_admin,
    web_auth,
    web_catalogue,
    web_dossiers,
    web_public,
    web_reception,
    web_versions,
)
from api.security import authorize, refusal_before_validation
from api.text_guard import TextGuard
from api.web import render as web_render
from app.container import build_services
from app.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.services = build_services(settings)
        to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        if settings.gc_freeze_after_startup:
            gc.freeze()
        try:
            yield
        finally:
            app.state.services.close()

    app = FastAPI(
        title="motcua",
        summary="Dịch vụ quy trình BPMN cho giải quyết thủ tục hành chính một cửa",
        version="0.1.0",
        lifespan=lifespan,
        # One central check before every route: credentials, the policy table, unit scoping.
        dependencies=[Depends(authorize)],
    )
    errors.install(app, refusal_before_validation)
    hardening.install(app, settings)
    app.add_middleware(TextGuard)
    # Added last = outermost: every response, problems from the guards included, carries the id and is timed.
    app.add_middleware(RequestTiming)
    app.add_middleware(RequestId)
    for router in (health.router, deployments.router, instances.router, tasks.router, messages.router,
                   catalogue.router, dossiers.router, forms.router, calendar.router, incidents.router,
                   integrations.router, operations.router, diagrams.router, migrations.router, auth.router,
                   audit.router, reports.router, reports.public_router, metrics.router):
        app.include_router(router)
    for router in (web_auth.router, web_dossiers.router, web_reception.router, web_public.router,
                   web_admin.router, web_accounts.router, web_versions.router,
                   web_catalogue.router):
        app.include_router(router)
    web_render.install(app)
    return app
