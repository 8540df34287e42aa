"""Readiness: the database answers, its schema is at the shipped migration head, a worker is alive.

No heartbeat at all is tolerated only when this process runs no worker (MOTCUA_WORKER_ENABLED=false):
an API-only deployment whose worker has never started yet still serves requests, and the body says so.
A heartbeat that exists but is older than the limit always fails: the worker died or hangs.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

from persistence.db import Database
from persistence.job_models import WorkerHeartbeat
from persistence.migrate import alembic_config


@dataclass
class Readiness:
    ready: bool
    checks: dict[str, dict[str, object]] = field(default_factory=dict)

    @property
    def failed(self) -> list[str]:
        return [name for name, check in self.checks.items() if check["status"] == "fail"]


@cache
def shipped_heads() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def check(db: Database, *, worker_enabled: bool, max_heartbeat_age: timedelta,
          now: datetime | None = None) -> Readiness:
    now = now or datetime.now(UTC)
    checks: dict[str, dict[str, object]] = {}
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
            newest = connection.execute(select(func.max(WorkerHeartbeat.seen_at))).scalar() \
                if current == shipped_heads() else None
    except Exception as exc:  # unreachable, refused, timed out: all mean "not ready"
        checks["database"] = {"status": "fail", "detail": f"Không kết nối được cơ sở dữ liệu: {type(exc).__name__}"}
        return Readiness(False, checks)
    checks["database"] = {"status": "ok"}
    heads = shipped_heads()
    if current != heads:
        checks["migrations"] = {"status": "fail", "current": sorted(current), "head": sorted(heads),
                                "detail": "Lược đồ chưa nâng cấp đến phiên bản mới nhất (motcua db upgrade)"}
        return Readiness(False, checks)
    checks["migrations"] = {"status": "ok", "current": sorted(current)}
    if isinstance(newest, str):  # SQLite hands back text from an aggregate
        newest = datetime.fromisoformat(newest)
    if newest is not None and newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)
    if newest is None:
        checks["worker"] = ({"status": "fail", "detail": "Tiến trình nền chưa báo hoạt động"} if worker_enabled else
                            {"status": "not_seen", "detail": "Chưa có tiến trình nền nào báo hoạt động; "
                                                             "tiến trình này không chạy tiến trình nền"})
    else:
        age = (now - newest).total_seconds()
        fresh = age <= max_heartbeat_age.total_seconds()
        checks["worker"] = {"status": "ok" if fresh else "fail", "seenAt": newest.isoformat(),
                            "ageSeconds": round(age, 1)}
        if not fresh:
            checks["worker"]["detail"] = "Tiến trình nền không còn báo hoạt động"
    return Readiness(all(c["status"] != "fail" for c in checks.values()), checks)
