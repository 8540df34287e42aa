"""PostgreSQL stopped and started under a load of receptions: while it is down every request answers 503
problem+json `database_unavailable` (no hang, no 500); afterwards the server recovers by itself and every
reception, retried with its Idempotency-Key, is in the database exactly once.

The test runs its own private PostgreSQL cluster (initdb in a temporary directory, a free port): the shared
server on 5432 is never touched."""

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from app.container import build_services
from app.settings import Settings
from persistence.db import Database
from persistence.dossier_models import Dossier
from persistence.migrate import upgrade
from tests.onestop import COUNTER_CLERK, install_catalogue, reception_body
from tests.processes import ServerProcess, free_port

pytestmark = pytest.mark.slow
KEY = "mc_outage_" + uuid.uuid4().hex
PG_BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


class PrivateCluster:
    def __init__(self) -> None:
        self.bin = Path(PG_BINARIES[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="motcua-pg-"))
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.dir, "postgres", "postgres")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/motcua"

    def run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self.run(str(self.bin / "initdb"), "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres",
                 "--no-sync")

    def start(self) -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w",
                 "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self) -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    if not PG_BINARIES:
        pytest.skip("initdb not installed (/usr/lib/postgresql/*/bin/initdb): no private cluster to restart")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a `postgres` user to own a private cluster")
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser to start a private cluster as `postgres`")
    pg = PrivateCluster()
    try:
        pg.init()
        pg.start()
        admin = create_engine(pg.url.replace("/motcua", "/postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE motcua"))
        admin.dispose()
        db = Database(pg.url)
        upgrade(db.engine)
        db.dispose()
        yield pg
    finally:
        pg.destroy()


def test_postgres_restart_under_load_answers_503_then_recovers_and_loses_nothing(cluster, tmp_path):
    services = build_services(Settings(database_url=cluster.url))
    try:
        install_catalogue(services)
        server = ServerProcess(cluster.url, tmp_path, KEY, MOTCUA_DB_POOL_SIZE="4")
        server.start()
        try:
            run_outage(cluster, server, services)
        finally:
            server.stop()
    finally:
        services.close()


def run_outage(cluster: PrivateCluster, server: ServerProcess, services) -> None:
    http = httpx.Client(base_url=server.url, timeout=20, headers={"X-API-Key": KEY, **COUNTER_CLERK})
    counter = next(u["code"] for u in http.get("/api/v1/units", params={"type": "division"}).json()
                   if "Một cửa" in u["name"])
    procedure = next(p for p in http.get("/api/v1/procedures", params={"level": "department"}).json()
                     if not p["mohCentralized"])
    body = reception_body(procedure, counter)
    outcomes: dict[str, list[int]] = {}
    unavailable: list[dict] = []
    others: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    down = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=server.url, timeout=20, headers=http.headers) as mine:
            while not stop.is_set():
                key = uuid.uuid4().hex
                response = mine.post("/api/v1/dossiers", json=body, headers={"Idempotency-Key": key})
                with lock:
                    outcomes.setdefault(key, []).append(response.status_code)
                    if response.status_code == 503:
                        unavailable.append({**response.json(), "contentType": response.headers["content-type"]})
                    elif response.status_code != 201:
                        others.append(f"{response.status_code} {response.text[:300]}")
                time.sleep(0.02 if response.status_code == 201 else 0.1)

    threads = [threading.Thread(target=load) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.5)
        cluster.stop()
        down.set()
        time.sleep(2.0)
        during = http.post("/api/v1/dossiers", json=body)
        assert during.status_code == 503, during.text
        assert during.headers["content-type"] == "application/problem+json"
        assert during.json()["code"] == "database_unavailable" and during.headers["Retry-After"]
        cluster.start()
        deadline = time.monotonic() + 30
        recovered = None
        while time.monotonic() < deadline:
            recovered = http.post("/api/v1/dossiers", json=body, headers={"Idempotency-Key": "recovery-probe"})
            if recovered.status_code == 201:
                break
            time.sleep(0.2)
        assert recovered is not None and recovered.status_code == 201, recovered.text if recovered else None
        time.sleep(1.0)  # the load runs on the recovered server too
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert not others, others[:5]
    assert unavailable and all(p["contentType"] == "application/problem+json" and p["code"] == "database_unavailable"
                               for p in unavailable)
    # Each refused reception, retried with its key, lands once; acknowledged ones are not doubled.
    for key, statuses in outcomes.items():
        if 201 not in statuses:
            retried = http.post("/api/v1/dossiers", json=body, headers={"Idempotency-Key": key})
            assert retried.status_code == 201, retried.text
            statuses.append(201)
    again = http.post("/api/v1/dossiers", json=body, headers={"Idempotency-Key": "recovery-probe"})
    http.close()
    with services.db.read() as session:
        codes = list(session.scalars(select(Dossier.code)))
    assert len(codes) == len(set(codes)) == len(outcomes) + 1  # + the recovery probe, answered twice
    assert again.json()["code"] in codes
    refused = sum(1 for statuses in outcomes.values() if statuses[0] == 503)
    print(f"\noutage: {len(outcomes)} receptions, {refused} answered 503 while PostgreSQL was down, "
          f"{len(codes)} dossiers found after recovery")
