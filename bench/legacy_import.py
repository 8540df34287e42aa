"""Legacy import throughput: `python -m bench.legacy_import [--rows 2000] [--finished 0.7]` on PostgreSQL
(MOTCUA_BENCH_POSTGRES_URL or local). Writes a JSON Lines file of finished and in-flight dossiers of every
shipped procedure (department ones at the department's counter, commune ones spread over the communes;
in-flight ones at any step of their diagram), imports it once (rows/s), then again (the idempotent skip).
CPU seconds from /proc: this process, and every PostgreSQL process on the machine (shared with whatever else
runs)."""

import argparse
import cProfile
import json
import os
import pstats
import random
import re
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from app.calendar.workdays import LOCAL_TZ
from app.container import build_services
from app.dossiers.reception import COMMUNE_TYPES
from app.legacy.importer import LegacyImporter
from app.legacy.parallel import import_in_processes
from app.legacy.rows import Mapping, read_rows
from app.settings import Settings
from bench.common import install_shipped
from bench.pg import admin_url, cpu_seconds, create_database, drop_database, postgres_pids, unreachable_reason
from persistence.db import Database
from persistence.dossier_models import Procedure, Unit
from persistence.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--finished", type=float, default=0.7, help="share of finished dossiers")
    parser.add_argument("--profile", action="store_true", help="cProfile the first import, print the top entries")
    parser.add_argument("--jobs", type=int, default=1, help="importing processes (motcua import dossiers --jobs)")
    args = parser.parse_args()
    admin = admin_url()
    reason = unreachable_reason(admin)
    if reason:
        raise SystemExit(f"PostgreSQL not reachable: {reason}")
    url = create_database(admin)
    try:
        db = Database(url)
        upgrade(db.engine)
        db.dispose()
        services = build_services(Settings(database_url=url))
        install_shipped(services)
        with services.db.read() as session:
            counter = next(u.code for u in session.query(Unit) if "Một cửa" in u.name)
            communes = sorted(u.code for u in session.query(Unit) if u.reception and u.type in COMMUNE_TYPES)
            procedures = sorted(session.query(Procedure), key=lambda p: p.code)
        rng = random.Random(7)
        base = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
        with tempfile.TemporaryDirectory() as tmp:
            sample = Path(tmp) / "legacy.jsonl"
            with sample.open("w", encoding="utf-8") as handle:
                for i in range(args.rows):
                    received = base + timedelta(minutes=7 * i)
                    handle.write(json.dumps(_row(i, received, rng, args.finished, procedures, counter, communes),
                                            ensure_ascii=False) + "\n")
            importer = LegacyImporter(services.reception, services.inbound)
            rows = list(read_rows(sample))
            for label in ("first import", "second import (all skipped)"):
                started = time.perf_counter()
                own, server = _importer_cpu(), _postgres_cpu()
                profile = cProfile.Profile() if args.profile and label == "first import" else None
                if profile:
                    profile.enable()
                if args.jobs > 1:
                    outcomes = import_in_processes(Settings(database_url=url), rows, Mapping(), jobs=args.jobs)
                else:
                    outcomes = importer.import_rows(rows, Mapping())
                if profile:
                    profile.disable()
                    pstats.Stats(profile).sort_stats(os.environ.get("BENCH_SORT", "tottime")).print_stats(25)
                own, server = _importer_cpu() - own, _cpu_since(server)
                seconds = time.perf_counter() - started
                kinds = {k: sum(1 for o in outcomes if o.result == k) for k in ("imported", "skipped", "refused")}
                print(f"{label}: {len(rows)} rows in {seconds:.1f} s = {len(rows) / seconds:.0f} rows/s {kinds}; "
                      f"CPU: importer {own:.1f} s, all PostgreSQL processes {server:.1f} s; "
                      f"load average {os.getloadavg()[0]:.2f}", flush=True)
        services.close()
    finally:
        drop_database(admin, url)


def _row(i: int, received: datetime, rng: random.Random, finished: float, procedures: list[Procedure],
         counter: str, communes: list[str]) -> dict:
    """A dossier of any shipped procedure: department ones received at the department's counter, commune ones
    at one of the communes; in flight at any step of its diagram (Ministry-routed ones only before the cutover,
    after which they wait on the Ministry, not on a step here)."""
    def fits(procedure: Procedure) -> bool:
        return not (procedure.moh_centralized and procedure.moh_cutover is not None
                    and received.astimezone(LOCAL_TZ).date() >= procedure.moh_cutover)

    procedure = rng.choice([p for p in procedures if fits(p)])
    unit = counter if procedure.level == "department" else rng.choice(communes)
    row = {"legacy_id": f"B-{i}", "source_system": rng.choice(("hai_duong", "hai_phong")),
           "procedure_code": procedure.code, "receiving_unit": unit, "applicant_id_number": f"0302{i:08d}",
           "applicant_name": "Nguyễn Văn Thử", "received_at": received.isoformat()}
    if rng.random() < finished:
        return row | {"state": "finished", "finished_at": (received + timedelta(days=9)).isoformat(),
                      "result_number": f"{i}/KQ"}
    return row | {"state": "in_progress", "step": rng.choice(_steps(procedure.diagram_key))}


@cache
def _steps(diagram_key: str) -> list[str]:
    text = (ROOT / "workflows" / "bpmn" / f"{diagram_key}.bpmn").read_text(encoding="utf-8")
    return sorted(set(re.findall(r'motcua:step" value="([a-z_]+)"', text)) - {"ministry"})


def _importer_cpu() -> float:
    """This process and its finished children (the importing processes of --jobs), user + system seconds."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _postgres_cpu() -> dict[int, float]:
    # With children: the backends of --jobs' processes start and end between two readings; the postmaster
    # collects their CPU when it reaps them.
    return {pid: cpu_seconds([pid], with_children=True) for pid in postgres_pids()}


def _cpu_since(before: dict[int, float]) -> float:
    """CPU the PostgreSQL processes used since `before`, per process: one that ended meanwhile (another
    session's backend) drops out instead of making the sum negative."""
    return sum(max(0.0, seconds - before.get(pid, 0.0)) for pid, seconds in _postgres_cpu().items())


if __name__ == "__main__":
    main()
