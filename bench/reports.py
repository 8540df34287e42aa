"""Report and worklist speed at scale on PostgreSQL: generate N demo dossiers, then time the full-year
city report (by unit, by procedure) and a worklist page.

    .venv/bin/python -m bench.reports --dossiers 100000
    .venv/bin/python -m bench.reports --dossiers 1000000 --database motcua_bench_reports --keep
"""

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from app.container import build_services
from app.reports.generator import generate
from app.reports.summary import invalidate
from app.settings import Settings
from bench import pg
from persistence.db import Database
from persistence.dossier_models import Dossier
from persistence.migrate import upgrade


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm-up: plans, caches, connection
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] if len(samples) >= 20 else max(samples)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__)
    parser.add_argument("--dossiers", type=int, default=100_000)
    parser.add_argument("--database", help="database name to (re)use; generated rows are kept if it has enough")
    parser.add_argument("--keep", action="store_true", help="do not drop the database afterwards")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)

    admin = pg.admin_url()
    reason = pg.unreachable_reason(admin)
    if reason:
        raise SystemExit(f"PostgreSQL not reachable: {reason}")
    if args.database:
        url = make_url(admin).set(database=args.database).render_as_string(hide_password=False)
        if pg.unreachable_reason(url):
            pg._admin(admin, f'CREATE DATABASE "{args.database}"')
    else:
        url = pg.create_database(admin)
    db = Database(url)
    upgrade(db.engine)
    with db.read() as session:
        present = session.scalar(select(func.count()).select_from(Dossier)) or 0
    db.dispose()
    services = build_services(Settings(database_url=url))
    try:
        if present < args.dossiers:
            started = time.perf_counter()
            made = generate(services.db, args.dossiers - present, year=2025, batch=10_000)
            print(f"generated {made.dossiers} dossiers, {made.documents} documents, {made.ratings} ratings "
                  f"in {time.perf_counter() - started:.1f} s")
            with services.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
        with services.db.read() as session:
            total = session.scalar(select(func.count()).select_from(Dossier))
            busiest = session.execute(text(
                "select competent_unit from dossiers group by competent_unit order by count(*) desc limit 1")).scalar()
        year = (date(2025, 1, 1), date(2025, 12, 31))
        print(f"PostgreSQL {pg.server_version(url)}, {total} dossiers; {args.runs} timed runs after one warm-up")
        results = []
        with services.db.transaction() as session:
            invalidate(session)  # time the whole rebuild, as after a bulk load
        started = time.perf_counter()
        services.reports.refresh_summary()
        rebuild = (time.perf_counter() - started) * 1000
        with services.db.read() as session:
            summary_rows = session.scalar(text("select count(*) from quality_daily"))
        print(f"summary rebuilt whole in {rebuild:.0f} ms ({summary_rows} rows)")
        for changes in (50, 1000):
            incremental = []
            for _ in range(args.runs):
                # dossiers of the last month written since the previous refresh (50: about a minute of a busy
                # city; 1,000: a quarter of an hour)
                with services.db.transaction() as session:
                    session.execute(text(
                        "update dossiers set updated_at = now() where code in (select code from dossiers "
                        "where received_at >= timestamptz '2025-12-01' order by random() limit :n)"), {"n": changes})
                started = time.perf_counter()
                services.reports.refresh_summary()
                incremental.append((time.perf_counter() - started) * 1000)
            results.append((f"summary refresh after {changes} dossiers of December changed", incremental))
        for group_by in ("city", "unit", "procedure"):
            samples = timed(lambda g=group_by: services.reports.service_quality(*year, g), args.runs)
            rows = len(services.reports.service_quality(*year, group_by).rows)
            results.append((f"full-year report by {group_by} ({rows} rows)", samples))
        both = timed(lambda: (services.reports.service_quality(*year, "unit"),
                              services.reports.service_quality(*year, "procedure")), args.runs)
        results.append(("full-year report by unit + by procedure", both))
        for queue in ("in_progress", "overdue", None):
            samples = timed(lambda q=queue: services.dossiers.worklist(
                unit=busiest, queue=q, status=None, procedure=None, limit=50), 60)
            results.append((f"worklist page, unit {busiest}, queue {queue or 'all'} (50 rows)", samples))
        print(f"{'measure':70} {'median ms':>10} {'p95 ms':>9} {'max ms':>9}")
        for label, samples in results:
            print(f"{label:70} {statistics.median(samples):10.1f} {p95(samples):9.1f} {max(samples):9.1f}")
    finally:
        services.close()
        if not args.keep:
            pg.drop_database(admin, url)


if __name__ == "__main__":
    main()
