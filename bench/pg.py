"""PostgreSQL for the bench: a throw-away database, and the server's CPU read from /proc."""

import os
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", None, ""}


def admin_url() -> str:
    return os.environ.get("MOTCUA_BENCH_POSTGRES_URL", DEFAULT_ADMIN_URL)


def unreachable_reason(url: str) -> str | None:
    """None when the server answers, else a one-line reason."""
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure means "not here"
        first = str(exc).splitlines()[0] if str(exc) else ""
        return f"{exc.__class__.__name__}: {first}"


def server_version(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("show server_version")).scalar()).split()[0]
    finally:
        engine.dispose()


def other_sessions(url: str) -> int:
    """Client sessions on the server that are not ours: their work shows up in the server CPU too."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "select count(*) from pg_stat_activity where backend_type = 'client backend' "
                "and pid <> pg_backend_pid() and datname is distinct from current_database()")).scalar() or 0)
    finally:
        engine.dispose()


def _admin(url: str, statement: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def create_database(url: str) -> str:
    name = f"motcua_bench_{os.getpid()}"
    _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(url, f'CREATE DATABASE "{name}"')
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin: str, url: str) -> None:
    _admin(admin, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def is_local(url: str) -> bool:
    return make_url(url).host in LOCAL_HOSTS


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().startswith("postgres"):
                pids.append(int(entry.name))
        except OSError:
            continue  # the process ended meanwhile
    return pids


def cpu_seconds(pids: list[int], *, with_children: bool = False) -> float:
    """utime+stime of these processes, from /proc (processes that ended meanwhile count as 0); `with_children`:
    plus the CPU of their children that ended and were reaped (the postmaster's ended backends)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # fields from 3 (state) on; comm may hold spaces
        total += int(fields[11]) + int(fields[12])  # utime (14), stime (15)
        if with_children:
            total += int(fields[13]) + int(fields[14])  # cutime (16), cstime (17)
    return total / ticks


def server_cpu_seconds() -> float:
    """utime+stime of every process whose comm starts with 'postgres' (backends, walwriter, checkpointer…)."""
    return cpu_seconds(postgres_pids())


def database_backends_cpu(admin: str, url: str):
    """A reader of utime+stime of the backends serving `url`'s database only: on a server other sessions share,
    all-'postgres*' CPU also counts their work. Backends that ended between two readings are not counted."""
    database = make_url(url).database
    engine = create_engine(admin)

    def read() -> float:
        with engine.connect() as conn:
            pids = list(conn.execute(text("select pid from pg_stat_activity where datname = :d"),
                                     {"d": database}).scalars())
        return cpu_seconds(pids)

    return read
