"""What authentication and the audit chain cost: `python -m bench.auth [--n 300] [--no-postgres]`.

Prints the median and p95 of: Argon2 password check (sign-in only), API-key → principal, bearer JWT →
principal (decode + user row + agency), one empty write transaction with its audit row appended; then
write transactions per second from 8 threads with and without the audit chain (whose appends are
serialized), on SQLite and, when it answers, PostgreSQL.
"""

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from app.container import build_services
from app.security.audit import AuditLog
from app.security.passwords import hash_password, verify_password
from app.settings import Settings
from bench import pg
from persistence.db import Database
from persistence.migrate import upgrade
from persistence.models import Event


def timed(fn: Callable[[], object], n: int) -> tuple[float, float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def throughput(url: str, audited: bool, threads: int = 8, per_thread: int = 100) -> float:
    db = Database(url, pool_size=threads)
    if audited:
        AuditLog(db)

    def work(_: int) -> None:
        for _ in range(per_thread):
            with db.transaction() as session:  # the smallest real command: one history row
                session.add(Event(type="bench.step", data={}))

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(work, range(threads)))
    elapsed = time.perf_counter() - started
    db.dispose()
    return threads * per_thread / elapsed


def concurrent_writes(tmp: str, use_postgres: bool) -> None:
    urls = [("sqlite", f"sqlite:///{Path(tmp) / 'tp.db'}")]
    if use_postgres and pg.unreachable_reason(pg.admin_url()) is None:
        urls.append(("postgresql", pg.create_database(pg.admin_url())))
    print(f"\n{'8 threads × 100 one-row tx':32} {'plain tx/s':>10} {'audited':>10}")
    for name, url in urls:
        db = Database(url)
        upgrade(db.engine)
        db.dispose()
        plain, audited = throughput(url, False), throughput(url, True)
        print(f"{name:32} {plain:10.0f} {audited:10.0f}")
        if name == "postgresql":
            pg.drop_database(pg.admin_url(), url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    n = args.n
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(url)
        upgrade(db.engine)
        db.dispose()
        services = build_services(Settings(database_url=url, jwt_secret="b" * 40, files_dir=tmp))
        services.catalogue.load_shipped()
        services.accounts.create_user("lan", "mat-khau-du-dai", "specialist", "H31.SYT.02")
        key = services.accounts.create_api_key("bench", "integrator").key
        token = services.accounts.login("lan", "mat-khau-du-dai")["access_token"]
        stored = hash_password("mat-khau-du-dai")

        def empty_write() -> None:
            with services.db.transaction():
                pass

        rows = [
            ("argon2 verify (sign-in)", timed(lambda: verify_password(stored, "mat-khau-du-dai"), min(n, 50))),
            ("API key → principal", timed(lambda: services.accounts.from_api_key(key), n)),
            ("bearer JWT → principal", timed(lambda: services.accounts.from_bearer(token), n)),
            ("write transaction + audit row", timed(empty_write, n)),
            ("audit verify, per row", (0.0, 0.0)),
        ]
        started = time.perf_counter()
        result = services.audit.verify()
        per_row = (time.perf_counter() - started) * 1000 / max(result["checked"], 1)
        rows[-1] = ("audit verify, per row", (per_row, per_row))
        services.close()
    print(f"{'':32} {'median ms':>10} {'p95 ms':>10}")
    for name, (median, p95) in rows:
        print(f"{name:32} {median:10.3f} {p95:10.3f}")
    print(f"(chain of {result['checked']} rows verified: ok={result['ok']})")
    with tempfile.TemporaryDirectory() as tmp:
        concurrent_writes(tmp, not args.no_postgres)


if __name__ == "__main__":
    main()
