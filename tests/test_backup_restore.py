"""Backup and restore (PostgreSQL): a loaded database dumped with `pg_dump -Fc` and restored with `pg_restore`
into a new database gives the same service-quality figures and the same row counts."""

import shutil
import subprocess
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from app.observability import readiness
from app.reports.figures import GROUPINGS
from app.reports.generator import generate
from app.reports.service import ReportService
from persistence.db import Database
from persistence.models import Base
from tests.conftest import _PG_PROBLEM, _create_pg_database, _drop_pg_database, new_database

pytestmark = [
    pytest.mark.skipif(_PG_PROBLEM is not None, reason=f"PostgreSQL not reachable: {_PG_PROBLEM}"),
    pytest.mark.skipif(shutil.which("pg_dump") is None or shutil.which("pg_restore") is None,
                       reason="pg_dump/pg_restore are not installed (apt-get install postgresql-client)"),
]
AS_OF = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)


def libpq(url: str) -> str:
    """The SQLAlchemy URL as the PostgreSQL command-line tools want it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def snapshot(db: Database) -> tuple[dict[str, int], dict[str, list[dict]], set[str]]:
    with db.read() as session:
        counts = {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}
        versions = set(session.scalars(text("SELECT version_num FROM alembic_version")))
    reports = ReportService(db)
    figures = {group: [row.model_dump() for row in
                       reports.service_quality(date(2025, 1, 1), date(2025, 12, 31), group, as_of=AS_OF).rows]
               for group in GROUPINGS}
    return counts, figures, versions


def test_pg_dump_restored_into_a_new_database_gives_identical_figures(tmp_path):
    source_url = new_database("postgresql", tmp_path)
    target_url = _create_pg_database()  # empty: the dump brings schema, data and the alembic version
    source, target = Database(source_url), Database(target_url)
    try:
        made = generate(source, 3000, year=2025, seed=10)
        ReportService(source).refresh_summary(AS_OF)
        before = snapshot(source)
        assert made.dossiers == 3000 and before[0]["dossiers"] == 3000 and before[0]["dossier_documents"] > 3000
        assert sum(row["received"] for row in before[1]["city"]) == 3000

        dump = tmp_path / "motcua.dump"
        started = time.perf_counter()
        subprocess.run(["pg_dump", "-Fc", "--no-owner", "-f", str(dump), libpq(source_url)], check=True,
                       capture_output=True, timeout=300)
        dumped = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "-d", libpq(target_url), str(dump)],
                       check=True, capture_output=True, timeout=300)
        restored = time.perf_counter() - started

        after = snapshot(target)
        assert after[0] == before[0]
        assert after[1] == before[1]
        assert after[2] == before[2]
        restored_ready = readiness.check(target, worker_enabled=False, max_heartbeat_age=timedelta(minutes=1))
        assert restored_ready.checks["migrations"]["status"] == "ok"
        with source.read() as session:
            size = session.scalar(text("SELECT pg_database_size(current_database())"))
        print(f"\nbackup: {before[0]['dossiers']} dossiers, database {size / 1e6:.1f} MB, dump "
              f"{dump.stat().st_size / 1e6:.1f} MB in {dumped:.2f} s, restore {restored:.2f} s")
    finally:
        source.dispose()
        target.dispose()
        _drop_pg_database(source_url)
        _drop_pg_database(target_url)
