"""Stand-ins for the national portal, the Ministry system and the payment platform, for tests and demos.

Each is a small FastAPI app that stores what it receives (deduplicated by Idempotency-Key, as the real
receivers must), and can inject faults: failures (HTTP 500), answers that are not JSON, slow answers and
timeouts. The Ministry and payment simulators call motcua back with signed callbacks, on demand, as often as
asked (to play duplicates and late results). `motcua simulate dvcqg|moh|payment --port N` runs one.
"""

import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from app.integrations.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

Kind = Literal["dvcqg", "moh", "payment"]


@dataclass
class Faults:
    fail_rate: float = 0.0  # share of calls answered HTTP 500
    garbage_rate: float = 0.0  # share answered 200 with a body that is not JSON
    timeout_rate: float = 0.0  # share that sleep `timeout_seconds` before answering
    timeout_seconds: float = 6.0
    slow_ms: int = 0
    seed: int | None = None


@dataclass
class Received:
    """What the simulator took, in arrival order; `calls` counts every call, duplicates included."""

    by_key: dict[str, dict[str, Any]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    calls: int = 0
    duplicates: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def create_simulator(kind: Kind, faults: Faults | None = None, *, callback_url: str | None = None,
                     secret: str | None = None) -> FastAPI:
    faults = faults or Faults()
    rng = random.Random(faults.seed)
    received = Received()
    app = FastAPI(title=f"motcua simulator: {kind}")
    app.state.received = received
    app.state.faults = faults

    def take(key: str, path: str, payload: dict[str, Any]) -> Response:
        roll = rng.random()
        with received.lock:
            received.calls += 1
        if faults.slow_ms:
            time.sleep(faults.slow_ms / 1000)
        if roll < faults.fail_rate:
            return PlainTextResponse("simulated failure", status_code=500)
        roll -= faults.fail_rate
        if roll < faults.timeout_rate:
            time.sleep(faults.timeout_seconds)
        roll -= faults.timeout_rate
        if roll < faults.garbage_rate:
            return PlainTextResponse("<html>not json</html>", status_code=200)
        with received.lock:
            if key in received.by_key:
                received.duplicates += 1
                return JSONResponse(received.by_key[key]["answer"])
            answer: dict[str, Any] = {"ok": True}
            if kind == "moh":
                answer["remoteId"] = f"BYT-{uuid.uuid4().hex[:10].upper()}"
            if kind == "payment":
                answer["paymentUrl"] = f"https://thanhtoan.example/pay/{payload.get('reference')}"
            received.by_key[key] = {"path": path, "payload": payload, "answer": answer}
            received.order.append(key)
        return JSONResponse(answer)

    # Plain `def`: FastAPI runs these in its thread pool, so a simulated slow answer blocks only its own call.
    @app.post("/api/dossiers/{code}/sync")
    def dvcqg_sync(code: str, request: Request, payload: dict[str, Any]) -> Response:
        return take(request.headers.get("Idempotency-Key", ""), f"/api/dossiers/{code}/sync", payload)

    @app.post("/api/handovers")
    def moh_handover(request: Request, payload: dict[str, Any]) -> Response:
        return take(request.headers.get("Idempotency-Key", ""), "/api/handovers", payload)

    @app.post("/api/payment-requests")
    def payment_request(request: Request, payload: dict[str, Any]) -> Response:
        return take(request.headers.get("Idempotency-Key", ""), "/api/payment-requests", payload)

    @app.get("/_control/received")
    def list_received() -> dict[str, Any]:
        with received.lock:
            return {"calls": received.calls, "duplicates": received.duplicates,
                    "messages": [{"key": k, **received.by_key[k]} for k in received.order]}

    @app.post("/_control/callback")
    def send_callback(body: dict[str, Any]) -> dict[str, Any]:
        """Make the simulator call motcua back now with `body`, signed (the test or demo chooses the content)."""
        if not callback_url or not secret:
            return {"sent": False, "reason": "no callback URL or secret configured"}
        status, answer = signed_post(callback_url, secret, body)
        return {"sent": True, "status": status, "answer": answer}

    return app


def signed_post(url: str, secret: str, body: dict[str, Any], *, timestamp: int | None = None) -> tuple[int, Any]:
    raw = orjson.dumps(body)
    ts = int(time.time()) if timestamp is None else timestamp
    response = httpx.post(url, content=raw, timeout=10, headers={
        "Content-Type": "application/json", TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: sign(secret, ts, raw)})
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, response.text
