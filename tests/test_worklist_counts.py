"""Queue sizes kept in worklist_counts by triggers on dossiers (migration 0014) equal the reference count query of
tests/test_worklist_queries.py after every kind of write: commands through REST, the legacy importer's and the
demo generator's Core inserts, bulk updates and deletes; through compaction (also racing receptions on
PostgreSQL) and a recount; and from the migration's backfill of dossiers older than the table. Real databases."""

import os
import random
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import httpx
import pytest
from alembic import command
from sqlalchemy import delete, event, func, insert, select, text, update

from app.calendar.service import CalendarService
from app.container import build_services
from app.dossiers.queries import DossierQueries
from app.dossiers.status import QUEUES
from app.dossiers.worklist_counts import counted_from_dossiers
from app.legacy.importer import LegacyImporter
from app.legacy.rows import Mapping, read_rows
from app.reports.generator import generate
from persistence.db import Database
from persistence.dossier_models import COUNT_SCOPES, Dossier, DossierDocument, WorklistCount
from persistence.migrate import alembic_config, upgrade
from persistence.report_models import DossierRating
from tests.conftest import ADMIN_HEADERS, BACKENDS, ROOT, _create_pg_database, _drop_pg_database
from tests.onestop import COUNTER_CLERK, act, advance_to, install_catalogue, procedures, receive, reception_body, units
from tests.test_legacy_import import MAPPING, _csv
from tests.test_worklist_queries import reference_counts

Key = tuple[str, str, str]


def kept(db: Database) -> dict[Key, int]:
    """The table's sums per (unit, scope, stage), zeros left out."""
    with db.read() as session:
        rows = session.execute(select(WorklistCount.unit_code, WorklistCount.scope, WorklistCount.stage,
                                      func.sum(WorklistCount.delta))
                               .group_by(WorklistCount.unit_code, WorklistCount.scope, WorklistCount.stage))
        return {(unit, scope, stage): int(total) for unit, scope, stage, total in rows if total}


def counted(db: Database) -> dict[Key, int]:
    with db.read() as session:
        return {(unit, scope, stage): int(total) for unit, scope, stage, total in
                session.execute(counted_from_dossiers())}


def rows_per_key(db: Database) -> dict[Key, int]:
    with db.read() as session:
        return {(unit, scope, stage): rows for unit, scope, stage, rows in session.execute(
            select(WorklistCount.unit_code, WorklistCount.scope, WorklistCount.stage, func.count())
            .group_by(WorklistCount.unit_code, WorklistCount.scope, WorklistCount.stage))}


def busiest(db: Database) -> str:
    with db.read() as session:
        return session.scalar(select(Dossier.competent_unit).group_by(Dossier.competent_unit)
                              .order_by(func.count().desc(), Dossier.competent_unit).limit(1))


def assert_counts_are_right(services) -> None:
    """Every unit that has dossiers, and the admin's view of all units, against the reference queries."""
    with services.db.read() as session:
        present = set(session.scalars(select(Dossier.competent_unit))) | set(session.scalars(
            select(Dossier.receiving_unit)))
    for unit in [*sorted(present), None]:
        assert services.dossiers.queue_counts(unit) == reference_counts(services, unit), unit
    assert kept(services.db) == counted(services.db)


LIVES = ("stay", "work", "supplement", "supplemented", "withdraw", "refuse", "finish", "return")
MINISTRY_LIVES = ("stay", "finish", "return")  # waiting for the Ministry: no supplement, withdrawal or refusal here


def _walk(client: httpx.Client, rng: random.Random, code: str, lives: tuple[str, ...]) -> str:
    """One random life for a received dossier, from `lives` (transfer: to that unit); returns what was done."""
    action, _, transfer_to = rng.choice(lives).partition(":")
    if action in ("work", "supplement", "supplemented"):
        advance_to(client, code, "appraisal")
    if action in ("supplement", "supplemented"):
        act(client, code, "supplement-request", {"reason": "Bổ sung bản sao", "documents": ["Bản sao"]})
    if action == "supplemented":
        act(client, code, "supplement-received", {})
    if action == "withdraw":
        act(client, code, "withdraw", {})
    if action == "refuse":
        act(client, code, "refuse", {"reason": "Không đủ điều kiện"})
    if action in ("finish", "return"):
        advance_to(client, code, "return")
    if action == "return":
        act(client, code, "return-result", {"resultNumber": "12/GP-SYT", "electronic": True})
    if action == "transfer":
        act(client, code, "transfer", {"toUnit": transfer_to, "reason": "Đúng địa bàn cơ sở"})
    return action


def _mix(services, client: httpx.Client, tmp_path, seed: int = 14) -> set[str]:
    """Receptions (at the competent unit, boundary-free ones, Ministry-routed ones) each living a random life; a
    legacy import in one batch; generated dossiers (Core inserts); bulk updates and deletes of dossiers."""
    install_catalogue(services)
    rng = random.Random(seed)
    department = [p for p in procedures(client, level="department") if not p["mohCentralized"]]
    ministry = [p for p in procedures(client) if p["mohCentralized"]]
    commune_level = procedures(client, level="commune")
    counter = next(u["code"] for u in units(client, "division") if "Một cửa" in u["name"])
    communes = [u["code"] for u in units(client, "commune")][:6]
    done = set()
    for number in range(26):
        kind = ("department", "commune", "boundary_free", "ministry")[number % 4]
        id_number = f"03120100{number:04d}"
        if kind == "department":
            body = reception_body(rng.choice(department), counter, id_number=id_number)
        elif kind == "ministry":
            body = reception_body(rng.choice(ministry), counter, id_number=id_number)
        else:
            here, there = rng.sample(communes, 2)
            body = reception_body(rng.choice(commune_level), here, id_number=id_number,
                                  competent_unit=there if kind == "boundary_free" else None)
        received = receive(client, body)
        lives = MINISTRY_LIVES if kind == "ministry" else LIVES
        if kind == "commune":
            lives += tuple(f"transfer:{unit}" for unit in communes if unit != received["competentUnit"])[:3]
        done.add(kind)
        done.add(_walk(client, rng, received["code"], lives))

    sample, mapping = tmp_path / "haiduong.csv", tmp_path / "mapping.yaml"
    _csv(sample, counter, department[0]["code"])
    mapping.write_text(MAPPING, encoding="utf-8")
    outcomes = LegacyImporter(services.reception, services.inbound).import_rows(list(read_rows(sample)),
                                                                                Mapping.load(mapping))
    assert [o.result for o in outcomes].count("imported") == 2
    generate(services.db, 120, year=2025, seed=seed, batch=50)

    with services.db.transaction() as session:
        codes = list(session.scalars(select(Dossier.code).order_by(Dossier.code)))
        session.execute(update(Dossier).where(Dossier.code.in_(codes[::6])).values(receiving_unit=counter))
        session.execute(update(Dossier).where(Dossier.code.in_(codes[1::7]), Dossier.stage == "in_progress")
                        .values(stage="ministry"))
        session.execute(update(Dossier).where(Dossier.code.in_(codes[2::11])).values(stage="withdrawn"))
        gone = codes[3::13]
        session.execute(delete(DossierDocument).where(DossierDocument.dossier_code.in_(gone)))
        session.execute(delete(DossierRating).where(DossierRating.dossier_code.in_(gone)))
        session.execute(delete(Dossier).where(Dossier.code.in_(gone)))
    return done


def test_counts_follow_every_write_path_and_survive_compaction(services, client, tmp_path):
    done = _mix(services, client, tmp_path)
    assert {"department", "commune", "boundary_free", "ministry", "supplement", "withdraw", "return",
            "transfer"} <= done, done
    assert_counts_are_right(services)
    every_unit = services.dossiers.queue_counts(None)
    assert all(every_unit[queue] for queue in ("new", "supplement", "in_progress", "overdue", "to_return",
                                               "withdrawn")), every_unit
    assert {scope for _, scope, _ in kept(services.db)} == set(COUNT_SCOPES)

    # An update that changes no counted column, or sets one to the value it had, writes no delta.
    rows = sum(rows_per_key(services.db).values())
    with services.db.transaction() as session:
        session.execute(update(Dossier).values(stage=Dossier.stage, receiving_unit=Dossier.receiving_unit,
                                               current_step=Dossier.current_step))
    assert sum(rows_per_key(services.db).values()) == rows

    # Compaction: one unit's rows only, then all of them; the sums stay, each key keeps one row (none for 0).
    before, rows = kept(services.db), rows_per_key(services.db)
    busiest = max(rows, key=rows.__getitem__)
    assert rows[busiest] > 1
    busiest_unit = busiest[0]
    assert services.worklist_counts.compact(busiest_unit) > 0
    assert kept(services.db) == before
    assert all(n == 1 for (unit, _, _), n in rows_per_key(services.db).items() if unit == busiest_unit)
    assert any(n > 1 for n in rows_per_key(services.db).values())  # the other units' rows are not folded yet
    assert services.worklist_counts.compact() > 0
    assert rows_per_key(services.db) == dict.fromkeys(before, 1)
    assert services.worklist_counts.compact() == 0  # nothing left to fold
    assert_counts_are_right(services)


def test_the_worker_compacts_on_its_periodic_scan(services, client):
    generate(services.db, 60, year=2025, seed=5, batch=10)  # one delta row per (batch, key) at least
    assert any(n > 1 for n in rows_per_key(services.db).values())
    fresh = build_services(services.settings)  # as `motcua worker` builds it; its first tick runs the scans
    try:
        fresh.worker.tick()
    finally:
        fresh.close()
    assert set(rows_per_key(services.db).values()) == {1}
    assert kept(services.db) == counted(services.db)


def test_recount_rebuilds_the_counts_from_the_dossiers(services, client, database_url):
    generate(services.db, 150, year=2025, seed=8, batch=50)
    with services.db.transaction() as session:  # counts gone wrong: lost deltas and stray ones
        session.execute(delete(WorklistCount).where(WorklistCount.id % 3 == 0))
        session.execute(insert(WorklistCount), [{"unit_code": "H31.SYT", "scope": "competent", "stage": "new",
                                                 "delta": 7}, {"unit_code": "NOWHERE", "scope": "receiving",
                                                               "stage": "to_return", "delta": -2}])
    assert kept(services.db) != counted(services.db)
    assert services.worklist_counts.recount() == len(counted(services.db))
    assert_counts_are_right(services)

    with services.db.transaction() as session:
        session.execute(delete(WorklistCount))
    command_line = subprocess.run([sys.executable, "-m", "app.cli", "worklist", "recount"], cwd=ROOT,
                                  env={**os.environ, "MOTCUA_DATABASE_URL": database_url}, capture_output=True,
                                  text=True, timeout=120)
    assert command_line.returncode == 0, command_line.stdout + command_line.stderr
    assert "Đã đếm lại" in command_line.stdout
    assert_counts_are_right(services)


def test_truncating_the_dossiers_empties_the_counts(services, client):
    if services.db.dialect != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    generate(services.db, 40, year=2025, seed=9, batch=40)
    assert kept(services.db)
    with services.db.transaction() as session:  # fires no delete trigger
        session.execute(text("TRUNCATE dossiers CASCADE"))
    assert kept(services.db) == {} and services.dossiers.queue_counts(None) == dict.fromkeys(QUEUES, 0)


@pytest.mark.parametrize("upkeep", ["compact", "recount"])
def test_upkeep_racing_receptions_loses_nothing(services, client, server, upkeep):
    """PostgreSQL, where writers do not wait for each other: receptions commit while compactions (or recounts)
    run; every reception's delta is counted once."""
    if services.db.dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time: nothing runs beside a compaction")
    install_catalogue(services)
    commune_level = procedures(client, level="commune")
    communes = [u["code"] for u in units(client, "commune")][:4]
    receivers, receptions = len(communes), 20
    barrier = threading.Barrier(receivers + 1)
    finished = threading.Event()
    run: Callable[[], int] = getattr(services.worklist_counts, upkeep)

    def receive_many(unit: str) -> int:
        with httpx.Client(base_url=server.url, timeout=60, headers=ADMIN_HEADERS | COUNTER_CLERK) as http:
            barrier.wait()
            for number in range(receptions):
                response = http.post("/api/v1/dossiers", json=reception_body(
                    commune_level[number % len(commune_level)], unit, id_number=f"0312{number:08d}"))
                assert response.status_code == 201, response.text
        return receptions

    def keep_up() -> int:
        barrier.wait()
        rounds = 0
        while not finished.is_set():
            run()
            rounds += 1
        return rounds

    with ThreadPoolExecutor(receivers + 1) as pool:
        upkeeping = pool.submit(keep_up)
        received = list(pool.map(receive_many, communes))
        finished.set()
        rounds = upkeeping.result()
    assert sum(received) == receivers * receptions and rounds > 3, rounds
    assert sum(services.dossiers.queue_counts(unit)["new"] for unit in communes) == receivers * receptions
    assert_counts_are_right(services)


def test_a_dossier_committed_during_a_recount_is_counted_once(services, client):
    """PostgreSQL: a writer commits its dossier (and that dossier's delta row) right after the recount's DELETE, the
    moment that would count it twice, were the recount not holding the table lock that makes the writer finish
    first."""
    if services.db.dialect != "postgresql":
        pytest.skip("SQLite's recount holds the write lock: no writer commits meanwhile")
    generate(services.db, 30, year=2025, seed=12, batch=30)
    with services.db.read() as session:
        row = dict(session.execute(select(Dossier.__table__).limit(1)).mappings().one())
    written, deleted, committed = threading.Event(), threading.Event(), threading.Event()

    def write() -> None:
        with services.db.engine.connect() as connection, connection.begin():
            connection.execute(insert(Dossier.__table__), [row | {"code": row["code"] + "-R",
                                                                  "process_instance_id": "race-recount"}])
            written.set()
            deleted.wait(timeout=2)  # the recount's DELETE ran, or the recount waits for this commit
        committed.set()

    def after(connection, cursor, statement, *args) -> None:
        if statement.startswith("DELETE FROM worklist_counts") and not committed.is_set():
            deleted.set()
            committed.wait(timeout=10)

    event.listen(services.db.engine, "after_cursor_execute", after)
    try:
        with ThreadPoolExecutor(1) as pool:
            writing = pool.submit(write)
            assert written.wait(timeout=10)
            services.worklist_counts.recount()
            writing.result()
    finally:
        event.remove(services.db.engine, "after_cursor_execute", after)
    assert_counts_are_right(services)


@pytest.mark.parametrize("dialect", BACKENDS)
def test_the_migration_counts_dossiers_that_existed_before_it(tmp_path, dialect):
    url = f"sqlite:///{tmp_path / 'before-0014.db'}" if dialect == "sqlite" else _create_pg_database()
    db = Database(url)
    try:
        upgrade(db.engine, "0013_worklist")
        generate(db, 200, year=2025, seed=21, batch=100)
        with db.transaction() as session:  # received in one unit for another
            codes = list(session.scalars(select(Dossier.code).order_by(Dossier.code)))
            session.execute(update(Dossier).where(Dossier.code.in_(codes[::4])).values(receiving_unit="H31.SYT"))
        upgrade(db.engine)
        assert {scope for _, scope, _ in kept(db)} == set(COUNT_SCOPES)
        assert kept(db) == counted(db)
        queries = SimpleNamespace(db=db, dossiers=DossierQueries(db, CalendarService(db)))
        for unit in ("H31.SYT", busiest(db), None):
            assert queries.dossiers.queue_counts(unit) == reference_counts(queries, unit), unit

        # Down and up again: the triggers go with the table and come back with the backfill.
        with db.engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.downgrade(config, "0013_worklist")
        with db.transaction() as session:
            session.execute(update(Dossier).where(Dossier.code.in_(codes[1::4])).values(stage="withdrawn"))
        upgrade(db.engine)
        assert kept(db) == counted(db)
    finally:
        db.dispose()
        if dialect == "postgresql":
            _drop_pg_database(url)
