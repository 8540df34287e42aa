"""Outbox delivery throughput with 2 dispatcher processes on PostgreSQL, clean and with 30% faulty calls.

`make bench-outbox` (never part of the tests). Writes bench/results/outbox.json and .md, and checks what it
measures: every message reached the simulator exactly once after dedup, in order per dossier.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import httpx
import uvicorn
from sqlalchemy import func, select

from app.integrations.outbox import enqueue
from app.integrations.simulators import Faults, create_simulator
from bench import pg
from bench.report import RESULTS_DIR
from persistence.db import Database
from persistence.integration_models import OutboxMessage
from persistence.migrate import upgrade

PAYLOAD = {"dossier": {"MaHoSo": "", "TrangThaiHoSo": 4, "KenhThucHien": 1, "DoiTuongThucHien": 1,
                       "ChuHoSo": "Nguyễn Văn An", "TaiLieuNop": [{"MaGiayTo": "don", "DuocSoHoa": True}] * 4},
           "step": {"NoiDungXuLy": "Đang xử lý", "TrangThai": 4, "ThoiDiemXuLy": "20260301093000"}}


def fill(db: Database, dossiers: int, events: int, prefix: str = "H31.SYT-260301") -> int:
    with db.transaction() as session:
        for d in range(dossiers):
            code = f"{prefix}-{d:05d}"
            for _ in range(events):
                enqueue(session, "dvcqg", code, "dossier.step", {**PAYLOAD, "dossier": {**PAYLOAD["dossier"],
                                                                                        "MaHoSo": code}})
    return dossiers * events


def wait_until_delivered(db: Database) -> None:
    while True:
        with db.read() as session:
            left = session.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.status != "delivered"))
        if not left:
            return
        time.sleep(0.02)


def serve(app, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           limit_concurrency=200))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server


def run(url: str, faults: Faults, port: int, dossiers: int, events: int, workers: int) -> dict[str, Any]:
    db = Database(url)
    upgrade(db.engine)
    sim = serve(create_simulator("dvcqg", faults), port)
    env = {**os.environ, "MOTCUA_DATABASE_URL": url, "MOTCUA_DVCQG_BASE_URL": f"http://127.0.0.1:{port}",
           "MOTCUA_OUTBOX_BASE_DELAY_SECONDS": "0.05", "MOTCUA_OUTBOX_MAX_DELAY_SECONDS": "1",
           "MOTCUA_OUTBOX_MAX_ATTEMPTS": "1000", "MOTCUA_CONNECTOR_TIMEOUT_SECONDS": "0.3"}
    procs = [subprocess.Popen([sys.executable, "-m", "app.cli", "outbox", "deliver", "--interval", "0.02"],
                              env=env, stdout=subprocess.DEVNULL) for _ in range(workers)]
    try:
        fill(db, workers * 4, 1, prefix="WARMUP")  # the clock starts once the dispatchers are up and polling
        wait_until_delivered(db)
        total = fill(db, dossiers, events)
        started = time.perf_counter()  # from the commit of all rows to the last delivery
        wait_until_delivered(db)
        elapsed = time.perf_counter() - started
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
    got = httpx.get(f"http://127.0.0.1:{port}/_control/received", timeout=30).json()
    sim.should_exit = True
    keys = [m["key"] for m in got["messages"] if not m["key"].startswith("dvcqg:WARMUP")]
    in_order = all(
        [int(k.rsplit(":", 1)[1]) for k in keys if k.startswith(f"dvcqg:H31.SYT-260301-{d:05d}:")]
        == list(range(1, events + 1)) for d in range(dossiers))
    with db.read() as session:
        attempts = session.scalar(select(func.sum(OutboxMessage.attempts)))
    db.dispose()
    return {"messages": total, "workers": workers, "seconds": round(elapsed, 2),
            "deliveredPerSecond": round(total / elapsed, 1), "attempts": int(attempts or 0),
            "simulatorCalls": got["calls"], "duplicatesAtReceiver": got["duplicates"],
            "exactlyOnceAfterDedup": len(keys) == total == len(set(keys)), "inOrderPerDossier": in_order,
            "faults": {"failRate": faults.fail_rate, "timeoutRate": faults.timeout_rate,
                       "garbageRate": faults.garbage_rate}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dossiers", type=int, default=400)
    parser.add_argument("--events", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    admin = pg.admin_url()
    reason = pg.unreachable_reason(admin)
    if reason:
        raise SystemExit(f"PostgreSQL needed at {admin}: {reason}")
    results = []
    for label, faults, port in (("clean", Faults(), 8131),
                                ("30% faulty", Faults(fail_rate=0.2, timeout_rate=0.05, garbage_rate=0.05, seed=5),
                                 8132)):
        url = pg.create_database(admin)
        try:
            print(f"{label}: {args.dossiers * args.events} messages, {args.workers} dispatchers …", flush=True)
            results.append({"run": label, **run(url, faults, port, args.dossiers, args.events, args.workers)})
        finally:
            pg.drop_database(admin, url)
    lines = ["| run | messages | dispatchers | seconds | delivered/s | attempts | calls | dup at receiver | "
             "once | in order |", "|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['run']} | {r['messages']} | {r['workers']} | {r['seconds']} | {r['deliveredPerSecond']} | "
              f"{r['attempts']} | {r['simulatorCalls']} | {r['duplicatesAtReceiver']} | "
              f"{r['exactlyOnceAfterDedup']} | {r['inOrderPerDossier']} |" for r in results]
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "outbox.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (RESULTS_DIR / "outbox.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
