"""Retention: `motcua archive --finished-before DATE` drops finished instances' workflow state; their history,
result variables and coloured diagram stay, and running instances are not touched."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from persistence.models import ProcessInstance
from tests import diagrams, layout
from tests.conftest import ROOT
from tests.test_api_processes import complete, deploy, start


def _row(services, instance_id: str) -> ProcessInstance:
    with services.db.read() as session:
        return session.get(ProcessInstance, instance_id)


def test_archiving_keeps_history_and_result_and_skips_running_instances(services, client):
    deploy(client, ("a.bpmn", layout.row("luu_tru", tasks=("a",))))
    finished = start(client, "luu_tru", variables={"so": 1})
    complete(client, finished["openTasks"][0]["id"], {"ketQua": "đạt"})
    running = start(client, "luu_tru")
    history_before = client.get(f"/api/v1/process-instances/{finished['id']}/history").json()
    assert _row(services, finished["id"]).state != b""

    assert services.archiver.archive(datetime.now(UTC) - timedelta(days=1)) == 0  # finished after the cutoff
    assert services.archiver.archive(datetime.now(UTC) + timedelta(seconds=5)) == 1
    assert services.archiver.archive(datetime.now(UTC) + timedelta(seconds=5)) == 0  # already archived

    row = _row(services, finished["id"])
    assert row.state == b"" and row.archived_at is not None and row.status == "completed"
    view = client.get(f"/api/v1/process-instances/{finished['id']}").json()
    assert view["variables"] == {"so": 1, "ketQua": "đạt"}
    assert client.get(f"/api/v1/process-instances/{finished['id']}/history").json() == history_before
    svg = client.get(f"/api/v1/process-instances/{finished['id']}/diagram.svg")
    assert svg.status_code == 200 and 'data-state="completed"' in svg.text
    kept = _row(services, running["id"])
    assert kept.archived_at is None and kept.state != b""
    assert complete(client, running["openTasks"][0]["id"])["status"] == "completed"  # still moves


def test_cli_archive(services, client):
    deploy(client, ("a.bpmn", diagrams.linear("luu_tru_cli", tasks=("a",))))
    done = start(client, "luu_tru_cli")
    complete(client, done["openTasks"][0]["id"])
    env = {**os.environ, "MOTCUA_DATABASE_URL": services.settings.database_url, "MOTCUA_JWT_SECRET": "x" * 40}
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    command = [sys.executable, "-m", "app.cli", "archive", "--finished-before"]
    result = subprocess.run([*command, tomorrow], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0 and "Đã lưu trữ 1 phiên chạy" in result.stdout, result.stdout + result.stderr
    with services.db.read() as session:
        assert session.scalars(select(ProcessInstance.archived_at)).all() != [None]
    bad = subprocess.run([*command, "31/12/2026"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "không hợp lệ" in bad.stdout
