"""`python -m bench.statements [--url URL]`: the SQL statements one task completion issues, listed in order.

Not a timing: the count is stable on a loaded machine and is what the hot path is tuned against.
"""

import argparse
import tempfile
from pathlib import Path

from sqlalchemy import event

from bench.common import PROCESS_KEY
from bench.service import migrated, open_services


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.statements", description=__doc__)
    parser.add_argument("--url", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'statements.db'}"
        services = open_services(migrated(url))
        view = services.instances.start(key=PROCESS_KEY, business_key="statements", actor="bench")
        seen: list[str] = []

        def record(_conn, _cursor, statement, _params, _context, executemany) -> None:
            seen.append(("[many] " if executemany else "") + " ".join(statement.split())[:150])

        event.listen(services.db.engine, "before_cursor_execute", record)
        services.instances.complete_task(view.open_tasks[0].id, {"approved": True}, actor="bench")
        event.remove(services.db.engine, "before_cursor_execute", record)
        for number, statement in enumerate(seen, 1):
            print(f"{number:3d}  {statement}")
        print(f"{len(seen)} statements for one completion")
        services.db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
