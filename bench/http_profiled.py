"""The API server under yappi's CPU clock, every thread: `bench.http --profile` starts it in place of `motcua serve`.

Profiling starts on SIGUSR1 (after the instances are started, so only completions are profiled) and the stats
are written as a pstats file when the server stops. yappi, not cProfile: the routes run on anyio's worker
threads, which cProfile does not follow, and a CPU clock leaves out every wait for PostgreSQL.
"""

import signal
import sys

import uvicorn
import yappi

from app.cli import uvicorn_options
from app.observability.logs import configure
from app.settings import get_settings


def main(port: int, out: str) -> None:
    settings = get_settings()
    configure(settings.log_format, settings.log_level)
    yappi.set_clock_type("cpu")
    signal.signal(signal.SIGUSR1, lambda *_: yappi.start())
    config = uvicorn.Config(host="127.0.0.1", port=port, **uvicorn_options(settings))
    try:
        uvicorn.Server(config).run()
    finally:
        yappi.stop()
        yappi.get_func_stats().save(out, type="pstat")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
