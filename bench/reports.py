"""Report and worklist speed at scale on PostgreSQL: generate N demo dossiers, then time the full-year
city report (by unit, by procedure) and the busiest unit's worklist: each queue's page and the queue counts, the
pages filtered by status and by procedure, and the admin's view of every unit (no unit).

    .venv/bin/python -m bench.reports --dossiers 100000
    .venv/bin/python -m bench.reports --dossiers 1000000 --database motcua_bench_reports --keep
    .venv/bin/python -m bench.reports --dossiers 1000000 --database motcua_bench_reports --keep --only worklist
    .venv/bin/python -m bench.reports --dossiers 1000000 --database motcua_bench_reports --keep --only filters

CPU columns are per call: this process (client) and the database's backends (read from /proc), so that a
shared, noisy machine shows in wall time but not in the work done.
"""

import argparse
import gc
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from app.container import Services, build_services
from app.dossiers.status import QUEUES, Status
from app.reports.generator import generate
from app.reports.summary import invalidate
from app.settings import Settings
from bench import pg
from persistence.db import Database
from persistence.dossier_models import Dossier
from persistence.migrate import upgrade


@dataclass
class Measure:
    label: str
    samples: list[float]
    client_cpu_ms: float = 0.0
    server_cpu_ms: float = 0.0


def backend_pids(db: Database) -> list[int]:
    with db.read() as session:
        return list(session.scalars(text("select pid from pg_stat_activity where datname = current_database()")))


def timed(fn: Callable[[], object], runs: int, label: str = "", db: Database | None = None) -> Measure:
    fn()  # warm-up: plans, caches, connection
    pids = backend_pids(db) if db is not None else []
    client0, server0 = time.process_time(), pg.cpu_seconds(pids)
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return Measure(label, out, (time.process_time() - client0) * 1000 / runs,
                   (pg.cpu_seconds(pids) - server0) * 1000 / runs if pids else 0.0)


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] if len(samples) >= 20 else max(samples)


def time_reports(services: Services, runs: int) -> list[Measure]:
    year = (date(2025, 1, 1), date(2025, 12, 31))
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
        for _ in range(runs):
            # dossiers of the last month written since the previous refresh (50: about a minute of a busy
            # city; 1,000: a quarter of an hour)
            with services.db.transaction() as session:
                session.execute(text(
                    "update dossiers set updated_at = now() where code in (select code from dossiers "
                    "where received_at >= timestamptz '2025-12-01' order by random() limit :n)"), {"n": changes})
            started = time.perf_counter()
            services.reports.refresh_summary()
            incremental.append((time.perf_counter() - started) * 1000)
        results.append(Measure(f"summary refresh after {changes} dossiers of December changed", incremental))
    for group_by in ("city", "unit", "procedure"):
        rows = len(services.reports.service_quality(*year, group_by).rows)
        results.append(timed(lambda g=group_by: services.reports.service_quality(*year, g), runs,
                             f"full-year report by {group_by} ({rows} rows)", services.db))
    results.append(timed(lambda: (services.reports.service_quality(*year, "unit"),
                                  services.reports.service_quality(*year, "procedure")), runs,
                         "full-year report by unit + by procedure", services.db))
    return results


def time_worklist(services: Services, unit: str, runs: int, page: int) -> list[Measure]:
    """What a counter of the busiest unit sees: each queue's page, the newest-first view, and the queue counts
    shown beside them."""
    results = time_pages(services, unit, runs, page)
    results.append(timed(lambda: services.dossiers.queue_counts(unit), runs, f"queue counts {unit}", services.db))
    results.append(mix("worklist mix: every call above", results))
    return results


def time_pages(services: Services, unit: str | None, runs: int, page: int) -> list[Measure]:
    """Each queue's page by appointment, and the newest-first and latest-appointment views, of one unit or (None,
    the admin's view) of every unit."""
    views: list[tuple[str | None, str]] = [(queue, "appointment") for queue in (None, *QUEUES)]
    views += [(None, "-received"), ("new", "-received"), ("in_progress", "-appointment")]
    return [timed(lambda q=queue, s=sort: services.dossiers.worklist(
                unit=unit, queue=q, status=None, procedure=None, sort=s, limit=page), runs,
                f"worklist {unit or 'no unit'}, queue {queue or 'all'}, sort {sort} ({page} rows)", services.db)
            for queue, sort in views]


def filter_values(services: Services, unit: str) -> tuple[str, str, str]:
    """The unit's most common procedure, its least common one, and the most common one it never handles (the web
    page's procedure filter is a free text field): filters matching many, few and none of its rows, whose rows
    need not come early in the sort order."""
    with services.db.read() as session:
        ranked = list(session.scalars(
            select(Dossier.procedure_code).where(Dossier.competent_unit == unit).group_by(Dossier.procedure_code)
            .order_by(func.count().desc(), Dossier.procedure_code)))
        elsewhere = session.scalar(
            select(Dossier.procedure_code).where(Dossier.procedure_code.not_in(ranked))
            .group_by(Dossier.procedure_code).order_by(func.count().desc(), Dossier.procedure_code).limit(1))
    return ranked[0], ranked[-1], elsewhere or "no-such-procedure"


def time_filtered(services: Services, unit: str | None, runs: int, page: int) -> list[Measure]:
    """Pages filtered by status or by procedure (the API's status= and procedure=, the web page's procedure
    filter). A status filter keeps only the stages that status can have; in progress is also the status of new
    dossiers and of those at the return step, so the new and to-return branches keep rows that rarely match."""
    common, rare, absent = filter_values(services, unit or busiest_unit(services))
    filters = [("status", Status.IN_PROGRESS.value), ("procedure", common), ("procedure", rare),
               ("procedure", absent)]
    views: list[tuple[str | None, str, str, str]] = [
        (queue, "appointment", kind, value) for queue in (None, "new", "to_return") for kind, value in filters]
    views += [(None, "-received", kind, value) for kind, value in filters]
    results = []
    for queue, sort, kind, value in views:
        filter_ = {"status": None, "procedure": None, kind: value}
        results.append(timed(lambda q=queue, s=sort, f=filter_: services.dossiers.worklist(
            unit=unit, queue=q, status=f["status"], procedure=f["procedure"], sort=s, limit=page), runs,
            f"worklist {unit or 'no unit'}, queue {queue or 'all'}, {kind} {value}, sort {sort}", services.db))
    return results


def mix(label: str, measures: list[Measure]) -> Measure:
    return Measure(label, [sample for m in measures for sample in m.samples],
                   statistics.mean(m.client_cpu_ms for m in measures),
                   statistics.mean(m.server_cpu_ms for m in measures))


def busiest_unit(services: Services) -> str:
    with services.db.read() as session:
        return str(session.execute(text(
            "select competent_unit from dossiers group by competent_unit order by count(*) desc limit 1")).scalar())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__)
    parser.add_argument("--dossiers", type=int, default=100_000)
    parser.add_argument("--database", help="database name to (re)use; generated rows are kept if it has enough")
    parser.add_argument("--keep", action="store_true", help="do not drop the database afterwards")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--worklist-runs", type=int, default=60)
    parser.add_argument("--page", type=int, default=50, help="worklist rows (API default 50; the web page asks 200)")
    parser.add_argument("--only", choices=("reports", "worklist", "filters"),
                        help="time only one part (filters: the filtered pages and the no-unit view)")
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
            # the worker's compaction, which a running service does every minute: the generator's inserts left up
            # to three delta rows per dossier in worklist_counts
            services.worklist_counts.compact()
        # Statistics first (plans change once they exist), and a set visibility map for index-only scans, as
        # autovacuum leaves a table that is mostly read; cheap once done.
        with services.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
        with services.db.read() as session:
            total = session.scalar(select(func.count()).select_from(Dossier))
        busiest = busiest_unit(services)
        print(f"PostgreSQL {pg.server_version(url)}, {total} dossiers; load average {os.getloadavg()[0]:.2f}")
        gc.collect()
        gc.freeze()  # as the API process does once started (Settings.gc_freeze_after_startup)
        results = []
        if args.only in (None, "reports"):
            results += time_reports(services, args.runs)
        if args.only in (None, "worklist"):
            results += time_worklist(services, busiest, args.worklist_runs, args.page)
        if args.only in (None, "worklist", "filters"):
            filtered = time_filtered(services, busiest, args.worklist_runs, args.page)
            filtered.append(mix("filtered pages mix: every call above", filtered))
            every_unit = time_pages(services, None, args.worklist_runs, args.page)
            every_unit += time_filtered(services, None, args.worklist_runs, args.page)
            every_unit.append(mix("no-unit pages mix: every call above", every_unit))
            results += filtered + every_unit
        print(f"{'measure':88} {'median ms':>9} {'p95 ms':>8} {'max ms':>8} {'cpu client':>10} {'cpu db':>7}")
        for m in results:
            print(f"{m.label:88} {statistics.median(m.samples):9.1f} {p95(m.samples):8.1f} {max(m.samples):8.1f} "
                  f"{m.client_cpu_ms:10.1f} {m.server_cpu_ms:7.1f}")
        print(f"load average at end {os.getloadavg()[0]:.2f}")
    finally:
        services.close()
        if not args.keep:
            pg.drop_database(admin, url)


if __name__ == "__main__":
    main()
