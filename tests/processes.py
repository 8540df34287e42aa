"""Real motcua processes for the fault tests: `motcua serve` and `motcua worker` as subprocesses."""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import select

from app.container import Services
from persistence.dossier_models import Dossier
from persistence.models import HumanTask, ProcessInstance
from tests.conftest import ROOT


def free_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class ServerProcess:
    """`motcua serve --no-worker` on a fixed loopback port, restartable after a SIGKILL."""

    def __init__(self, database_url: str, workdir: Path, api_key: str, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.env = {**os.environ, "MOTCUA_DATABASE_URL": database_url, "MOTCUA_BOOTSTRAP_API_KEY": api_key,
                    "MOTCUA_FILES_DIR": str(workdir / "files"), "MOTCUA_JWT_SECRET": "crash-" + uuid.uuid4().hex,
                    "MOTCUA_WORKER_ENABLED": "false", **env}
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 40) -> None:
        self.starts += 1
        log = open(self.workdir / f"serve-{self.starts}.log", "wb")  # noqa: SIM115  (the child owns it)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--no-worker", "--port", str(self.port)],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(self.log_tail())
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("motcua serve did not start:\n" + self.log_tail())

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def log_tail(self) -> str:
        return (self.workdir / f"serve-{self.starts}.log").read_text(errors="replace")[-3000:]


def start_worker(database_url: str, workdir: Path, name: str, **env: str) -> subprocess.Popen:
    log = open(workdir / f"worker-{name}.log", "wb")  # noqa: SIM115  (the child owns it)
    return subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], cwd=ROOT,
                            env={**os.environ, "MOTCUA_DATABASE_URL": database_url,
                                 "MOTCUA_WORKER_POLL_SECONDS": "0.05", **env},
                            stdout=log, stderr=subprocess.STDOUT)


def half_advanced(services: Services, *, dossiers: bool = True) -> list[str]:
    """Instances whose stored engine state disagrees with their open task rows (or, with `dossiers`, that
    have no dossier row, or a dossier without instance)."""
    problems = []
    with services.db.read() as session:
        open_tasks: dict[str, set[str]] = {}
        for task in session.scalars(select(HumanTask).where(HumanTask.status == "open")):
            open_tasks.setdefault(task.process_instance_id, set()).add(task.id)
        by_instance = {d.process_instance_id: d for d in session.scalars(select(Dossier))} if dossiers else {}
        for row in session.scalars(select(ProcessInstance)):
            model = services.deployments.model_of(session, row.definition_id)
            snapshot = services.instances.engine.snapshot(model, services.instances.engine.load(model, row.state))
            ready = {t.id for t in snapshot.ready_tasks}
            if row.status == "running" and ready != open_tasks.get(row.id, set()):
                problems.append(f"{row.id}: engine ready {sorted(ready)} vs open rows "
                                f"{sorted(open_tasks.get(row.id, set()))}")
            if snapshot.status != row.status and row.status in ("running", "completed"):
                problems.append(f"{row.id}: engine {snapshot.status} vs row {row.status}")
            if dossiers and row.id not in by_instance:
                problems.append(f"{row.id}: instance without dossier")
        for instance_id in set(by_instance) - set(session.scalars(select(ProcessInstance.id))):
            problems.append(f"dossier {by_instance[instance_id].code} without instance")
    return problems
