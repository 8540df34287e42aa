"""Engine and transactions: one `Database` per process, short write transactions, SQLite in WAL mode."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from time import monotonic

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

# A pooled connection idle this long is pinged before use (one round trip); a busy one is not. A connection
# that broke while in use (a database restart under load) fails its request with 503 `database_unavailable`,
# and SQLAlchemy then replaces every pooled connection opened before the failure.
PING_IDLE_SECONDS = 5.0
_IDLE_SINCE = "motcua_idle_since"


def _json_text(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


class Database:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 20,
        statement_timeout_ms: int = 15_000,
        sqlite_busy_timeout_ms: int = 15_000,
    ) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(url, connect_args={"check_same_thread": False})
            _configure_sqlite(self.engine, sqlite_busy_timeout_ms)
        else:
            connect_args = {}
            if self.dialect == "postgresql":
                connect_args["options"] = f"-c statement_timeout={statement_timeout_ms}"
            self.engine = create_engine(
                url,
                pool_size=pool_size,
                max_overflow=max_overflow,
                connect_args=connect_args,
                # JSONB columns: orjson writes and reads them several times faster than the json module, and
                # PostgreSQL stores the parsed value, so the text's form (escapes, spacing) is not kept anyway.
                json_serializer=_json_text,
                json_deserializer=orjson.loads,
            )
            _ping_when_idle(self.engine, PING_IDLE_SECONDS)
        # Write transactions on SQLite must take the write lock up front (BEGIN IMMEDIATE); otherwise a
        # read-then-write transaction fails at once with "database is locked" instead of waiting its turn.
        self._writer = sessionmaker(
            bind=self.engine.execution_options(motcua_write=True), expire_on_commit=False
        )
        self._reader = sessionmaker(bind=self.engine, expire_on_commit=False)
        # One statement needs no transaction around it (it sees one snapshot anyway): on PostgreSQL that saves
        # the BEGIN and COMMIT round trips. SQLite keeps its ordinary read transaction (see _on_begin).
        self._statement_reader = sessionmaker(
            bind=self.engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        ) if self.dialect == "postgresql" else None

    def on_write_commit(self, hook: Callable[[Session], None]) -> None:
        """Run `hook(session)` inside every write transaction just before it commits (e.g. the audit log)."""
        event.listen(self._writer, "before_commit", hook)

    def on_writer_event(self, name: str, hook: Callable[..., None]) -> None:
        """Listen to another SQLAlchemy session event of the write sessions (e.g. after_flush)."""
        event.listen(self._writer, name, hook)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One command, one transaction: commits on success, rolls back on any exception."""
        with self._writer() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session, session.begin():
            yield session

    @contextmanager
    def read_statement(self) -> Iterator[Session]:
        """A session for a single read statement, e.g. the authorization check before every command: each
        statement run in it sees its own snapshot, so never use it for two reads that must agree."""
        if self._statement_reader is None:
            with self.read() as session:
                yield session
            return
        with self._statement_reader() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        immediate = connection.get_execution_options().get("motcua_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """pool_pre_ping, but only for connections that sat idle: pinging every checkout cost a round trip per
    transaction, and two or three transactions run per HTTP command."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record) -> None:
        record.info[_IDLE_SINCE] = monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or monotonic() - since < idle_seconds:
            return  # just connected, or in steady use
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool discards this connection and checks out another (or connects)
            raise DisconnectionError(str(exc)) from exc
