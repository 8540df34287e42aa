"""Staff page latency over real HTTP: `python -m bench.web_pages [--repeat N]` (SQLite in a temporary folder).

Signs a clerk in, receives a few dossiers, then times GET of the worklist, the dossier page (with its
diagram SVG) and the public lookup through uvicorn on loopback.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from app.container import build_services
from app.dossiers.requests import ReceptionRequest
from app.settings import Settings
from persistence.db import Database
from persistence.migrate import upgrade
from tests.conftest import LiveServer
from tests.onestop import install_catalogue, reception_body
from tests.web import csrf_of, make_user


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--dossiers", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(url)
        upgrade(db.engine)
        db.dispose()
        settings = Settings(database_url=url, files_dir=tmp, jwt_secret="bench-" + "x" * 32, worker_enabled=False,
                            public_rate_per_minute=1_000_000, public_rate_burst=1_000_000)
        services = build_services(settings)
        install_catalogue(services)
        procedure = next(p for p in services.catalogue.search(None) if p.level == "commune")
        unit = next(u.code for u in services.catalogue.units(unit_type="commune"))
        make_user(services, "bench", "reception_clerk", unit)
        body = reception_body(procedure.model_dump(by_alias=True), unit)
        codes = [services.reception.receive(ReceptionRequest.model_validate(body), "bench").code
                 for _ in range(args.dossiers)]
        services.close()
        with LiveServer(settings) as live, httpx.Client(base_url=live.url, headers={"Accept": "text/html"}) as http:
            form = http.get("/login")
            http.post("/login", data={"username": "bench", "password": "mat-khau-thu-nghiem-1",
                                      "csrf_token": csrf_of(form.text)})
            targets = {"worklist": "/ui/worklist", "dossier page": f"/ui/dossiers/{codes[0]}",
                       "public lookup": f"/public/lookup?code={codes[0]}&id_number=001203004567"}
            print(f"{'page':<16} {'median ms':>9} {'p95 ms':>8} {'bytes':>8}  ({args.dossiers} dossiers, "
                  f"{args.repeat} requests each)")
            for name, path in targets.items():
                assert http.get(path).status_code == 200, path
                times = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    response = http.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                times.sort()
                print(f"{name:<16} {statistics.median(times):>9.1f} {times[int(len(times) * 0.95) - 1]:>8.1f} "
                      f"{len(response.content):>8}")


if __name__ == "__main__":
    main()
