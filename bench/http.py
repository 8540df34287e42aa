"""HTTP task completions against uvicorn (1 and 2 worker processes) on PostgreSQL, with 8/32/64 clients.

`make bench-http` (never part of the tests). For each combination: completions/s, p50/p95/p99 latency, and
the CPU milliseconds per completion of the server processes and of the bench database's PostgreSQL backends,
read from /proc (stable on a noisy machine, unlike wall time), plus the server's resident memory. Writes
bench/results/http.json and .md.
The completions are steps of reference-diagram instances (no dossier), or with --dossiers the steps of dossiers
received at the communes, which also move the dossier, its worklist counts and its DVCQG outbox message.
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from app.container import build_services
from app.settings import Settings
from bench import pg
from bench.common import PROCESS_KEY, install_shipped, reference_source
from bench.report import RESULTS_DIR
from persistence.migrate import upgrade

API_KEY = "bench-bootstrap-key-0123456789abcdef"
HEADERS = {"X-API-Key": API_KEY, "X-Actor": "bench"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_tree(root: int) -> list[int]:
    """The server and its worker processes (uvicorn --workers forks children)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat[stat.rindex(")") + 2:].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def start_server(url: str, workers: int, profile_to: Path | None = None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = ["-m", "app.cli", "serve", "--port", str(port), "--workers", str(workers)]
    if profile_to is not None:
        command = ["-m", "bench.http_profiled", str(port), str(profile_to)]
    env = {**os.environ, "MOTCUA_DATABASE_URL": url, "MOTCUA_BOOTSTRAP_API_KEY": API_KEY,
           "MOTCUA_WORKER_ENABLED": "false", "MOTCUA_DB_POOL_SIZE": "40", "MOTCUA_DB_MAX_OVERFLOW": "10"}
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    with open(RESULTS_DIR / "http-server.log", "a") as log:  # a server that dies mid-run says why here
        proc = subprocess.Popen([sys.executable, *command], env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # a loaded 2-core machine took 45 s to import the app in 2 workers
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")  # not SystemExit: main() goes on with the other rows


async def receive_dossiers(base: str, count: int) -> list[str]:
    """Receive dossiers of the shipped commune procedures at the communes' counters over HTTP, spread over the
    procedures and communes; returns the id of each one's first open task (5 steps to its return)."""
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=60) as client:
        procedures = (await client.get("/api/v1/procedures", params={"level": "commune"})).json()
        communes = [u["code"] for u in (await client.get("/api/v1/units", params={"type": "commune"})).json()]
        sem = asyncio.Semaphore(16)

        async def one(i: int) -> str:
            procedure = procedures[i % len(procedures)]
            body = {"procedureCode": procedure["code"], "channel": "counter",
                    "receivingUnit": communes[i % len(communes)],
                    "applicant": {"type": "citizen", "idNumber": f"{1203000000 + i:012d}", "name": "Nguyễn Văn An",
                                  "phone": "0912345678"},
                    "documents": [{"code": d["code"], "originals": d["originals"] or 1, "copies": d["copies"]}
                                  for d in procedure["documents"] if d["required"]]}
            async with sem:
                r = await client.post("/api/v1/dossiers", json=body)
                r.raise_for_status()
                tasks = await client.get("/api/v1/tasks", params={"processInstanceId": r.json()["processInstanceId"]})
                return tasks.json()[0]["id"]

        return list(await asyncio.gather(*(one(i) for i in range(count))))


async def start_instances(base: str, count: int) -> list[str]:
    """Start instances over HTTP; returns the id of each one's first open task."""
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=60) as client:
        sem = asyncio.Semaphore(16)

        async def one(i: int) -> str:
            async with sem:
                r = await client.post(f"/api/v1/process-definitions/key/{PROCESS_KEY}/start",
                                      json={"businessKey": f"bench-{i}"})
                r.raise_for_status()
                return r.json()["openTasks"][0]["id"]

        return list(await asyncio.gather(*(one(i) for i in range(count))))


async def complete_load(base: str, tasks: list[str], clients: int, completions: int,
                        body: dict[str, Any] | None = None) -> dict[str, Any]:
    body = {"variables": {"approved": True}} if body is None else body
    queue: asyncio.Queue[str] = asyncio.Queue()
    for task in tasks:
        queue.put_nowait(task)
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=60, limits=limits) as client:
        async def worker() -> None:
            nonlocal errors
            while len(latencies) < completions:
                try:
                    task = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                began = time.perf_counter()
                try:
                    r = await client.post(f"/api/v1/tasks/{task}/complete", json=body)
                except httpx.TransportError:
                    # A request racing the server's close of an idle keep-alive connection fails (seen at 64
                    # clients when uvicorn closed after 5 s; MOTCUA_HTTP_KEEP_ALIVE_SECONDS is now 75 s). Counted
                    # as an error, not retried: a completion is not idempotent.
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - began)
                if r.status_code != 200:
                    errors += 1
                    continue
                for nxt in r.json()["openTasks"]:
                    queue.put_nowait(nxt["id"])

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)

    return {"completions": len(latencies), "errors": errors, "seconds": round(elapsed, 2),
            "perSecond": round(len(latencies) / elapsed, 1), "p50Ms": pct(0.50), "p95Ms": pct(0.95),
            "p99Ms": pct(0.99), "meanMs": round(statistics.fmean(latencies) * 1000, 1)}


def measure(admin: str, workers: int, clients: int, completions: int,
            profile_to: Path | None = None, dossiers: bool = False) -> dict[str, Any]:
    url = pg.create_database(admin)
    services = None
    proc = None
    try:
        services = build_services(Settings(database_url=url))
        upgrade(services.db.engine)
        if dossiers:
            install_shipped(services)
        else:
            services.deployments.deploy([reference_source()], actor="bench")
        services.close()
        proc, base = start_server(url, workers, profile_to)
        count = completions // 4 + clients
        tasks = asyncio.run(receive_dossiers(base, count) if dossiers else start_instances(base, count))
        if profile_to is not None:
            proc.send_signal(signal.SIGUSR1)
        pids = process_tree(proc.pid)
        # The backends of this bench's database only (the server's pooled connections live through the run): the
        # whole server's CPU also counted other sessions' work on a shared machine.
        database_cpu = pg.database_backends_cpu(admin, url)
        server_before, db_before = pg.cpu_seconds(pids), database_cpu()
        result = asyncio.run(complete_load(base, tasks, clients, completions, {} if dossiers else None))
        server_cpu, db_cpu = pg.cpu_seconds(pids) - server_before, database_cpu() - db_before
        n = max(result["completions"], 1)
        return {"workers": workers, "clients": clients, "dossiers": dossiers, **result,
                "serverCpuMsPerCompletion": round(server_cpu * 1000 / n, 2),
                "dbCpuMsPerCompletion": round(db_cpu * 1000 / n, 2),
                "cpuMsPerCompletion": round((server_cpu + db_cpu) * 1000 / n, 2),
                "serverRssMb": round(rss_mb(process_tree(proc.pid)), 1)}
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        pg.drop_database(admin, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--completions", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32, 64])
    parser.add_argument("--dossiers", action="store_true",
                        help="complete the steps of dossiers received at the communes (shipped catalogue and "
                             "diagrams) instead of instances of the reference diagram, which have no dossier")
    parser.add_argument("--profile", action="store_true",
                        help="then one more run (1 process, the first --clients) with the server under yappi: its "
                             "CPU per layer and top entries (profile-http.txt)")
    args = parser.parse_args()
    admin = pg.admin_url()
    reason = pg.unreachable_reason(admin)
    if reason:
        raise SystemExit(f"PostgreSQL needed at {admin}: {reason}")
    rows = []
    for workers in args.workers:
        for clients in args.clients:
            print(f"uvicorn ×{workers}, {clients} clients, {args.completions} completions …", flush=True)
            try:
                rows.append(measure(admin, workers, clients, args.completions, dossiers=args.dossiers))
            except Exception as exc:  # e.g. a shared PostgreSQL out of connections: keep the other rows
                print(f"  failed: {type(exc).__name__}: {exc}", flush=True)
    load = "steps of dossiers received at the communes" if args.dossiers else "steps of reference-diagram instances"
    lines = [f"Completions: {load}.", "",
             "| workers | clients | completions/s | p50 ms | p95 ms | p99 ms | CPU ms/completion (server + db) | "
             "server RSS MB | errors |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['workers']} | {r['clients']} | {r['perSecond']} | {r['p50Ms']} | {r['p95Ms']} | {r['p99Ms']} | "
              f"{r['cpuMsPerCompletion']} ({r['serverCpuMsPerCompletion']} + {r['dbCpuMsPerCompletion']}) | "
              f"{r['serverRssMb']} | {r['errors']} |" for r in rows]
    info = {"cpus": os.cpu_count(), "loadavg": os.getloadavg(), "otherPgSessions": pg.other_sessions(admin)}
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "http.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (RESULTS_DIR / "http.json").write_text(json.dumps({"machine": info, "rows": rows}, indent=2) + "\n")
    print("\n".join(lines))
    print(f"machine: {info}")
    if args.profile:
        print(profile(admin, args.clients[0], args.completions, args.dossiers))


def profile(admin: str, clients: int, completions: int, dossiers: bool) -> str:
    """CPU per layer of the server process over the completions, from yappi's CPU clock, applied to the CPU of a
    run without the profiler."""
    import pstats

    from bench.profiling import layer_rows, layer_table, top_entries

    print(f"uvicorn ×1 under yappi, {clients} clients, {completions} completions …", flush=True)
    out = RESULTS_DIR / "profile-http.pstat"
    out.unlink(missing_ok=True)
    plain = measure(admin, 1, clients, completions, dossiers=dossiers)
    profiled = measure(admin, 1, clients, completions, profile_to=out, dossiers=dossiers)
    stats = pstats.Stats(str(out))
    server_ms = plain["serverCpuMsPerCompletion"]
    lines = [f"## Server CPU per completion by layer: {server_ms} ms without the profiler ({clients} clients, "
             f"{plain['completions']} completions), split by yappi's shares", "",
             *layer_rows(layer_table(stats, profiled["completions"]), server_ms, "CPU", "completion"),
             f"\nPostgreSQL server CPU: {plain['dbCpuMsPerCompletion']} ms per completion."]
    text = "\n".join(lines) + "\n\n" + top_entries(stats, "tottime")
    (RESULTS_DIR / "profile-http.txt").write_text(text, encoding="utf-8")
    return text

if __name__ == "__main__":
    main()
