"""A legacy file imported by several processes at once: each takes a contiguous share of the rows.

Everything that makes one import safe makes several safe together: each batch is one transaction, the legacy
id is a unique idempotency key (a row repeated in two shares is written once; the other copy is then skipped
or refused after its batch is redone row by row), and the day counters are taken in a fixed order. All the
processes share the import's clock, so their dossiers read as imported at one moment.
"""

import math
import multiprocessing
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from datetime import UTC, datetime
from queue import Empty
from typing import Any

from app.legacy.importer import LegacyImporter, Outcome
from app.legacy.rows import Mapping
from app.settings import Settings


def import_in_processes(settings: Settings, rows: list[tuple[int, dict[str, Any]]], mapping: Mapping, *,
                        jobs: int, dry_run: bool = False,
                        progress: Callable[[int], None] | None = None) -> list[Outcome]:
    """The outcomes in row order, as one process would give them."""
    now = datetime.now(UTC)
    size = math.ceil(len(rows) / max(1, jobs)) or 1
    shares = [rows[start:start + size] for start in range(0, len(rows), size)]
    context = multiprocessing.get_context("spawn")  # no inherited connections or threads
    with context.Manager() as manager, ProcessPoolExecutor(len(shares) or 1, mp_context=context) as pool:
        done_rows = manager.Queue()
        futures = [pool.submit(_import_share, settings, share, mapping, dry_run, now, done_rows) for share in shares]
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            _report(done_rows, progress)
        _report(done_rows, progress)
        return [outcome for future in futures for outcome in future.result()]


def _import_share(settings: Settings, rows: list[tuple[int, dict[str, Any]]], mapping: Mapping, dry_run: bool,
                  now: datetime, done_rows: Any) -> list[Outcome]:
    from app.container import build_services  # in the child process

    services = build_services(settings)
    try:
        importer = LegacyImporter(services.reception, services.inbound)
        return importer.import_rows(rows, mapping, dry_run=dry_run, now=now, progress=done_rows.put)
    finally:
        services.close()


def _report(done_rows: Any, progress: Callable[[int], None] | None) -> None:
    while True:
        try:
            count = done_rows.get_nowait()
        except Empty:
            return
        if progress:
            progress(count)
