"""Runtime configuration read from MOTCUA_* environment variables."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_database_url() -> str:
    return f"sqlite:///{Path('var/motcua.db').resolve()}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOTCUA_", env_file=None, extra="ignore")

    database_url: str = Field(default_factory=_default_database_url)
    db_pool_size: int = 10
    db_max_overflow: int = 20
    # Threads that run the blocking (plain `def`) routes and checks of one API process. Every one of them
    # contends for the GIL, so more threads than the database can serve in parallel only add switching: at 32
    # clients, 40 threads gave 130-139 completions/s at 8.2-8.4 ms CPU each, 8 threads 182-200/s at 5.5-5.8 ms
    # (bench.http, one process, 2 cores). Each slow request (a report, an upload) holds one thread meanwhile.
    api_threads: int = Field(default=8, ge=1, le=1000)
    # After start-up, move every object made so far out of the garbage collector's reach (gc.freeze): a full
    # collection walked them all, ~85 ms, every few dozen requests (bench.reports: a 10 ms page at 100 ms).
    gc_freeze_after_startup: bool = True
    # uvicorn keeps an idle client connection open this long. Behind a load balancer it must outlast the
    # balancer's own idle timeout (nginx and cloud balancers: 60 s), or the balancer may send a request on a
    # connection uvicorn is closing and answer 502; uvicorn's default is 5 s.
    http_keep_alive_seconds: int = Field(default=75, ge=1, le=3600)
    db_statement_timeout_ms: int = 15_000
    sqlite_busy_timeout_ms: int = 15_000

    max_upload_bytes: int = 5 * 1024 * 1024
    max_bpmn_elements: int = 20_000
    max_bpmn_depth: int = 64

    script_timeout_seconds: float = 1.0

    files_dir: str = "var/files"
    max_document_bytes: int = 20 * 1024 * 1024
    public_base_url: str = "http://127.0.0.1:8000"

    # Integrations: an empty base URL leaves that topic's outbox rows pending (visible, never lost).
    dvcqg_base_url: str = ""
    dvcqg_token: str | None = None
    moh_base_url: str = ""
    moh_token: str | None = None
    payment_base_url: str = ""
    payment_token: str | None = None
    connector_timeout_seconds: float = 5.0
    moh_callback_secret: str | None = None
    payment_callback_secret: str | None = None
    callback_window_seconds: int = 300
    outbox_max_attempts: int = 8
    outbox_base_delay_seconds: float = 2.0
    outbox_max_delay_seconds: float = 900.0
    outbox_batch_size: int = 20
    # background worker (app/jobs): `motcua worker`, and a thread inside `motcua serve` unless disabled
    worker_enabled: bool = True
    job_batch_size: int = 50
    job_concurrency: int = 4
    job_lease_seconds: float = 60.0
    job_max_attempts: int = 5
    job_backoff_seconds: float = 10.0
    worker_poll_seconds: float = 1.0
    scan_interval_seconds: float = 60.0
    # Security. Secrets come only from the environment; with no JWT secret a dev secret is kept in ./var.
    jwt_secret: str | None = None
    jwt_secret_file: str = "var/jwt-secret"
    access_token_minutes: int = 15
    refresh_token_hours: int = 8
    bootstrap_api_key: str | None = None
    oidc_issuer: str | None = None
    oidc_jwks_url: str | None = None
    oidc_audience: str | None = None
    oidc_username_claim: str = "preferred_username"
    oidc_role_claim: str = "role"
    oidc_unit_claim: str = "unit"
    cors_origins: list[str] = Field(default_factory=list)
    public_rate_per_minute: int = 60
    public_rate_burst: int = 20
    # Reports read a daily summary; a read refreshes it first when it is older than this.
    report_summary_max_age_seconds: float = 300.0
    # Staff web pages: set true behind HTTPS so the session cookie is never sent in clear.
    web_cookie_secure: bool = False
    # Operations: `json` logs one object per line with the request id; /readyz wants a heartbeat this fresh.
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"
    worker_heartbeat_seconds: float = 5.0
    readiness_heartbeat_max_age_seconds: float = 60.0


@lru_cache
def get_settings() -> Settings:
    return Settings()
