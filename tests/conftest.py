"""Real databases (SQLite file, PostgreSQL), schema built by migrating, and a real uvicorn on loopback.

Every test that takes `client`, `services` or `database_url` runs once per backend. PostgreSQL is used
when it answers at MOTCUA_TEST_POSTGRES_URL (default: local trust auth); with
MOTCUA_TEST_REQUIRE_POSTGRES=1 (set by .ci/run) an unreachable server fails the run instead of skipping.
"""

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.main import create_app
from app.container import Services, build_services
from app.settings import Settings
from persistence import dossier_models, integration_models, security_models  # noqa: F401  (wipe() sees all)
from persistence.db import Database
from persistence.migrate import upgrade
from persistence.models import Base

PG_ADMIN_URL = os.environ.get("MOTCUA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("MOTCUA_TEST_REQUIRE_POSTGRES") == "1"
ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
MOH_SECRET = "test-moh-callback-secret"
PAYMENT_SECRET = "test-payment-callback-secret"
# The `client` fixture acts as a system admin through the bootstrap key; `client_as` gives other roles.
BOOTSTRAP_KEY = "mc_test_bootstrap_" + uuid.uuid4().hex
ADMIN_HEADERS = {"X-API-Key": BOOTSTRAP_KEY}


def _postgres_reachable() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure means "not here"
        return f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


_PG_PROBLEM = _postgres_reachable()
if REQUIRE_PG and _PG_PROBLEM:
    raise pytest.UsageError(f"PostgreSQL is required (MOTCUA_TEST_REQUIRE_POSTGRES=1) but: {_PG_PROBLEM}")

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    _PG_PROBLEM is not None, reason=f"PostgreSQL not reachable at {PG_ADMIN_URL}: {_PG_PROBLEM}"))]


def _create_pg_database() -> str:
    name = f"motcua_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def new_database(backend: str, tmp_dir: Path) -> str:
    """A fresh, migrated database URL for `backend`."""
    url = f"sqlite:///{tmp_dir / f'motcua-{uuid.uuid4().hex[:8]}.db'}" if backend == "sqlite" else _create_pg_database()
    db = Database(url)
    upgrade(db.engine)
    db.dispose()
    return url


def wipe(db: Database) -> None:
    """Empty every table between tests; the schema stays as migrated."""
    # worklist_counts last: on SQLite, deleting dossiers makes their triggers write -1 rows into it
    tables = sorted((t.name for t in reversed(Base.metadata.sorted_tables)), key=lambda name: name == "worklist_counts")
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, tmp_path_factory) -> Iterator[str]:
    url = new_database(request.param, tmp_path_factory.mktemp(request.param))
    yield url
    if request.param == "postgresql":
        _drop_pg_database(url)


class LiveServer:
    """A real uvicorn on a free loopback port, in a thread: motcua itself, or any app (e.g. a simulator)."""

    def __init__(self, settings: Settings | None = None, app=None) -> None:
        self.app = app if app is not None else create_app(settings)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def services(self) -> Services:
        return self.app.state.services


@pytest.fixture(scope="session")
def server(backend: str, tmp_path_factory) -> Iterator[LiveServer]:
    settings = Settings(database_url=backend, db_pool_size=25, db_max_overflow=10,
                        files_dir=str(tmp_path_factory.mktemp("files")), bootstrap_api_key=BOOTSTRAP_KEY,
                        jwt_secret="test-secret-" + uuid.uuid4().hex, public_rate_per_minute=100_000,
                        public_rate_burst=100_000, moh_callback_secret=MOH_SECRET,
                        payment_callback_secret=PAYMENT_SECRET,
                        # 200 receptions at once queue for SQLite's single writer (and, on PostgreSQL, for the
                        # agency's daily sequence row); on a loaded 2-core machine the last waits longer than
                        # production's 15 s defaults. Those tests are about codes, not latency.
                        sqlite_busy_timeout_ms=60_000, db_statement_timeout_ms=60_000)
    with LiveServer(settings) as live:
        yield live


@pytest.fixture
def services(server: LiveServer) -> Services:
    wipe(server.services.db)
    return server.services


@pytest.fixture
def database_url(services: Services) -> str:
    return services.settings.database_url


@pytest.fixture
def client(services: Services, server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30, headers=ADMIN_HEADERS) as http:
        yield http


@pytest.fixture
def anonymous(services: Services, server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


@pytest.fixture
def client_as(services: Services, server: LiveServer) -> Iterator[Callable[[str, str | None], httpx.Client]]:
    """`client_as(role, unit)`: a client holding an API key of that role and unit (units must be loaded)."""
    opened: list[httpx.Client] = []

    def make(role: str, unit: str | None = None) -> httpx.Client:
        key = services.accounts.create_api_key(f"test {role} {unit}", role=role, unit=unit).key
        http = httpx.Client(base_url=server.url, timeout=30, headers={"X-API-Key": key})
        opened.append(http)
        return http

    yield make
    for http in opened:
        http.close()


@pytest.fixture
def pg_services(tmp_path) -> Iterator[Services]:
    """A private PostgreSQL database and services without a server, for tests that run real processes."""
    if _PG_PROBLEM is not None:
        pytest.skip(f"PostgreSQL not reachable: {_PG_PROBLEM}")
    url = new_database("postgresql", tmp_path)
    services = build_services(Settings(database_url=url))
    yield services
    services.close()
    _drop_pg_database(url)


@pytest.fixture
def fresh_services(tmp_path) -> Iterator[Services]:
    """A private SQLite database for engine-level tests that need no server."""
    services = build_services(Settings(database_url=new_database("sqlite", tmp_path)))
    yield services
    services.close()


def shipped_diagrams() -> list[Path]:
    return sorted((ROOT / "workflows" / "bpmn").glob("*.bpmn"))


def corpus_dir() -> Path:
    return SHARED / "corpus" / "miwg"
