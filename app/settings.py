"""Runtime configuration read from MOTCUA_* environment variables."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_database_url() -> str:
    return f"sqlite:///{Path('var/motcua.db').resolve()}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOTCUA_", env_file=None, extra="ignore")

    database_url: str = Field(default_factory=_default_database_url)
    db_pool_size: int = 10
    db_max_overflow: int = 20
    db_statement_timeout_ms: int = 15_000
    sqlite_busy_timeout_ms: int = 15_000

    max_upload_bytes: int = 5 * 1024 * 1024
    max_bpmn_elements: int = 20_000
    max_bpmn_depth: int = 64

    script_timeout_seconds: float = 1.0

    files_dir: str = "var/files"
    max_document_bytes: int = 20 * 1024 * 1024
    public_base_url: str = "http://127.0.0.1:8000"

    # Reports read a daily summary; a read refreshes it first when it is older than this.
    report_summary_max_age_seconds: float = 300.0


@lru_cache
def get_settings() -> Settings:
    return Settings()
