"""What authentication and the audit chain cost per request: `python -m bench.auth [--n 300]` (SQLite temp file).

Prints the median and p95 of: Argon2 password check (sign-in only), API-key → principal, bearer JWT →
principal (decode + user row + agency), and one empty write transaction with its audit row appended.
"""

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from app.container import build_services
from app.security.passwords import hash_password, verify_password
from app.settings import Settings
from persistence.db import Database
from persistence.migrate import upgrade


def timed(fn: Callable[[], object], n: int) -> tuple[float, float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    n = parser.parse_args().n
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


if __name__ == "__main__":
    main()
