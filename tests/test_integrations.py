"""Integrations through real parts: outbox rows written with each change, delivered over real HTTP to the
simulators (with injected faults), signed callbacks from the Ministry system and the payment platform,
idempotent messages. Both databases."""

import threading
import time
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from app.container import Services
from app.integrations.callbacks import keep_ministry_id
from app.integrations.connectors import dvcqg_connector, moh_connector, payment_connector
from app.integrations.dispatch import OutboxDispatcher, Retry
from app.integrations.dvcqg import portal_time
from app.integrations.outbox import MOH_HANDOVER
from app.integrations.simulators import Faults, create_simulator, signed_post
from persistence.dossier_models import Dossier
from persistence.integration_models import OutboxMessage, ProcessedMessage
from persistence.models import Event
from tests.conftest import MOH_SECRET, PAYMENT_SECRET, LiveServer
from tests.onestop import act, install_catalogue, open_tasks, procedures, receive, reception_body, units


@pytest.fixture
def onestop(services, client):
    install_catalogue(services)
    return client


@pytest.fixture
def counter(onestop) -> str:
    return next(u["code"] for u in units(onestop, "division") if "Một cửa" in u["name"])


def department_procedure(client) -> dict:
    return next(p for p in procedures(client, level="department") if not p["mohCentralized"])


def simulator(kind: str, faults: Faults | None = None, callback_url: str | None = None, secret: str | None = None):
    return LiveServer(app=create_simulator(kind, faults, callback_url=callback_url, secret=secret))


def outbox(services: Services, **where) -> list[OutboxMessage]:
    with services.db.read() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list(session.scalars(query))


def drain(dispatcher: OutboxDispatcher, services: Services, rounds: int = 400) -> None:
    for _ in range(rounds):
        dispatcher.deliver_due()
        with services.db.read() as session:
            left = session.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.status == "pending",
                                         OutboxMessage.topic.in_(list(dispatcher.connectors))))
        if not left:
            return
    raise AssertionError("outbox not drained")


def received_by(sim: LiveServer) -> dict:
    return httpx.get(f"{sim.url}/_control/received").json()


# --- what is written ---------------------------------------------------------------------------

def test_portal_time_is_vietnam_time_yyyymmddhhmmss():
    assert portal_time(datetime(2026, 3, 2, 2, 30, 5, tzinfo=UTC)) == "20260302093005"
    assert portal_time(datetime(2025, 12, 31, 17, 0, tzinfo=UTC)) == "20260101000000"
    assert portal_time(None) is None


def test_reception_writes_the_national_portal_record_field_by_field(onestop, services, counter):
    procedure = department_procedure(onestop)
    body = reception_body(procedure, counter, channel="post")
    body["applicant"]["type"] = "business"
    dossier = receive(onestop, body)
    rows = outbox(services, topic="dvcqg", aggregate=dossier["code"])
    assert [r.sequence for r in rows] == list(range(1, len(rows) + 1))
    first = rows[0]
    assert first.kind == "dossier.received" and first.idempotency_key == f"dvcqg:{dossier['code']}:1"
    record, step = first.payload["dossier"], first.payload["step"]
    received_at = datetime.fromisoformat(dossier["receivedAt"])
    assert record["MaHoSo"] == dossier["code"]
    assert record["MaTTHC"] == procedure["code"]
    assert record["TrangThaiHoSo"] == 2
    assert record["KenhThucHien"] == 3  # post
    assert record["DoiTuongThucHien"] == 2  # business
    assert record["ChuHoSo"] == "Nguyễn Văn An" and record["SoGiayToChuHoSo"] == "001203004567"
    assert record["SoDienThoai"] == "0912345678"
    assert record["DonViTiepNhan"] == counter and record["DonViXuLy"] == dossier["competentUnit"]
    assert record["NgayTiepNhan"] == portal_time(received_at)
    assert record["NgayHenTra"] == portal_time(datetime.fromisoformat(dossier["appointmentAt"]))
    assert record["NgayKetThucXuLy"] is None and record["NgayTra"] is None
    assert record["LePhi"] == {"TongTien": dossier["feeTotal"], "DaThanhToan": dossier["feePaid"],
                               "HinhThucThanhToan": None}
    required = [d for d in procedure["documents"] if d["required"]]
    assert [d["MaGiayTo"] for d in record["TaiLieuNop"]] == [d["code"] for d in required]
    assert all(d["DuocSoHoa"] is False and d["DuocTaiSuDung"] is False and d["TuKhoDuLieuQuocGia"] is False
               for d in record["TaiLieuNop"])
    assert record["KetQua"] is None
    assert step["MaHoSo"] == dossier["code"] and step["CanBoXuLy"] == "mot_cua_1"
    assert step["NoiDungXuLy"].startswith("Tiếp nhận hồ sơ tại")
    assert step["TrangThai"] == 2 and step["ThoiDiemXuLy"] and len(step["ThoiDiemXuLy"]) == 14
    assert step["NgayHetHan"] == record["NgayHenTra"]


def test_each_action_appends_one_ordered_message_and_a_refused_action_appends_none(onestop, services, counter):
    dossier = receive(onestop, reception_body(department_procedure(onestop), counter))
    before = len(outbox(services, aggregate=dossier["code"], topic="dvcqg"))
    act(onestop, dossier["code"], "supplement-request", {"reason": "Thiếu bản sao chứng chỉ",
                                                         "documents": ["Bản sao chứng chỉ"]})
    rows = outbox(services, aggregate=dossier["code"], topic="dvcqg")
    assert len(rows) == before + 1
    assert rows[-1].kind == "dossier.supplement-request" and rows[-1].payload["dossier"]["TrangThaiHoSo"] == 5
    assert rows[-1].payload["step"]["NoiDungXuLy"] == "Yêu cầu bổ sung hồ sơ"
    act(onestop, dossier["code"], "supplement-request", {"reason": "Lần hai", "documents": ["X"]}, expect=409)
    assert len(outbox(services, aggregate=dossier["code"], topic="dvcqg")) == before + 1


# --- delivery ----------------------------------------------------------------------------------

def make_traffic(client, counter: str, dossiers: int) -> list[str]:
    procedure = department_procedure(client)
    codes = []
    for _ in range(dossiers):
        code = receive(client, reception_body(procedure, counter))["code"]
        task = open_tasks(client, {"processInstanceId": client.get(f"/api/v1/dossiers/{code}")
                                   .json()["processInstanceId"]})[0]
        assert client.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {}}).status_code == 200
        act(client, code, "supplement-request", {"reason": "Thiếu giấy tờ", "documents": ["Bản sao"]})
        act(client, code, "supplement-received", {})
        codes.append(code)
    return codes


def assert_in_order_exactly_once(services: Services, sim: LiveServer, codes: list[str]) -> None:
    rows = outbox(services, topic="dvcqg")
    assert rows and all(r.status == "delivered" for r in rows)
    got = received_by(sim)
    keys = [m["key"] for m in got["messages"]]
    assert sorted(keys) == sorted(r.idempotency_key for r in rows)  # each once after dedup, none missing
    for code in codes:
        sequence = [int(k.rsplit(":", 1)[1]) for k in keys if k.startswith(f"dvcqg:{code}:")]
        assert sequence == sorted(sequence) and sequence == list(range(1, len(sequence) + 1)), code


def test_delivery_survives_failures_timeouts_and_garbage_in_order_exactly_once(onestop, services, counter):
    codes = make_traffic(onestop, counter, 12)
    faults = Faults(fail_rate=0.15, garbage_rate=0.05, timeout_rate=0.10, timeout_seconds=0.6, seed=7)
    with simulator("dvcqg", faults) as sim:
        dispatcher = OutboxDispatcher(services.db, {"dvcqg": dvcqg_connector(sim.url, "t", 0.2)},
                                      retry=Retry(max_attempts=100, base_delay_seconds=0.0), batch_size=10)
        drain(dispatcher, services)
        assert_in_order_exactly_once(services, sim, codes)
        got = received_by(sim)
        assert got["calls"] > len(got["messages"])  # the faults really happened and were retried
        assert max(r.attempts for r in outbox(services, topic="dvcqg")) > 1


def test_two_dispatchers_side_by_side_deliver_each_message_in_order(onestop, services, counter):
    codes = make_traffic(onestop, counter, 10)
    with simulator("dvcqg", Faults(fail_rate=0.2, seed=3, slow_ms=2)) as sim:
        dispatchers = [OutboxDispatcher(services.db, {"dvcqg": dvcqg_connector(sim.url, None, 2.0)},
                                        retry=Retry(max_attempts=100, base_delay_seconds=0.0), batch_size=3)
                       for _ in range(2)]
        errors: list[BaseException] = []

        def run(dispatcher: OutboxDispatcher) -> None:
            try:
                drain(dispatcher, services)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(d,)) for d in dispatchers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        assert_in_order_exactly_once(services, sim, codes)


def test_last_failed_try_becomes_an_incident_that_holds_back_the_dossier_and_can_be_retried(
        onestop, services, counter):
    dossier = receive(onestop, reception_body(department_procedure(onestop), counter))
    act(onestop, dossier["code"], "withdraw", {"reason": "Công dân xin rút hồ sơ"})
    faults = Faults(fail_rate=1.0)
    with simulator("dvcqg", faults) as sim:
        dispatcher = OutboxDispatcher(services.db, {"dvcqg": dvcqg_connector(sim.url, None, 2.0)},
                                      retry=Retry(max_attempts=3, base_delay_seconds=0.0))
        for _ in range(3):
            dispatcher.deliver_due()
        incidents = onestop.get("/api/v1/outbox", params={"status": "incident"}).json()
        assert [(i["aggregate"], i["sequence"], i["attempts"]) for i in incidents] == [(dossier["code"], 1, 3)]
        assert "HTTP 500" in incidents[0]["lastError"]
        later = onestop.get("/api/v1/outbox", params={"status": "pending", "aggregate": dossier["code"]}).json()
        assert later and all(m["attempts"] == 0 for m in later)  # held back behind the incident, in order
        assert received_by(sim)["messages"] == []

        faults.fail_rate = 0.0
        retried = onestop.post(f"/api/v1/outbox/{incidents[0]['id']}/retry")
        assert retried.status_code == 200 and retried.json()["status"] == "pending"
        again = onestop.post(f"/api/v1/outbox/{incidents[0]['id']}/retry")
        assert again.status_code == 409 and again.json()["code"] == "not_an_incident"
        drain(dispatcher, services)
        assert_in_order_exactly_once(services, sim, [dossier["code"]])
    missing = onestop.post("/api/v1/outbox/999999/retry")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    metrics = onestop.get("/metrics").text
    assert 'motcua_outbox_messages{topic="dvcqg",status="delivered"}' in metrics


def test_topics_without_a_configured_receiver_wait_visibly(onestop, services, counter):
    dossier = receive(onestop, reception_body(department_procedure(onestop), counter))
    outcome = OutboxDispatcher(services.db, {}).deliver_due()
    assert (outcome.delivered, outcome.failed, outcome.incidents) == (0, 0, 0)
    assert all(r.status == "pending" and r.attempts == 0 for r in outbox(services, aggregate=dossier["code"]))


# --- the Ministry of Health path ----------------------------------------------------------------

def moh_dossier(client, counter: str) -> dict:
    procedure = next(p for p in procedures(client) if p["mohCentralized"])
    dossier = receive(client, reception_body(procedure, counter))
    assert dossier["currentStep"] == "ministry"
    return dossier


def test_ministry_path_end_to_end_with_a_duplicate_and_a_late_callback(onestop, services, counter, server):
    dossier = moh_dossier(onestop, counter)
    callback_url = f"{server.url}/api/v1/integrations/moh/callback"
    with simulator("moh", callback_url=callback_url, secret=MOH_SECRET) as moh:
        dispatcher = OutboxDispatcher(services.db, {"moh": moh_connector(moh.url, None, 2.0)},
                                      handlers={MOH_HANDOVER: keep_ministry_id})
        drain(dispatcher, services)
        handed = received_by(moh)["messages"]
        assert [m["payload"]["dossier"]["MaHoSo"] for m in handed] == [dossier["code"]]
        remote_id = handed[0]["answer"]["remoteId"]
        with services.db.read() as session:
            assert session.get(Dossier, dossier["code"]).moh_remote_id == remote_id
        drain(dispatcher, services)  # nothing more to hand over
        assert len(received_by(moh)["messages"]) == 1

        result = {"callbackId": "cb-1", "dossierCode": dossier["code"], "remoteId": remote_id,
                  "approved": True, "decisionNumber": "123/QĐ-BYT"}
        first = httpx.post(f"{moh.url}/_control/callback", json=result).json()
        assert first["status"] == 200, first
        assert first["answer"]["dossierCode"] == dossier["code"]
        duplicate = httpx.post(f"{moh.url}/_control/callback", json=result).json()
        assert duplicate["status"] == 200 and duplicate["answer"] == first["answer"]
        late = httpx.post(f"{moh.url}/_control/callback", json={**result, "callbackId": "cb-2"}).json()
        assert late["status"] == 409 and late["answer"]["code"] == "not_waiting_for_ministry"

    after = onestop.get(f"/api/v1/dossiers/{dossier['code']}").json()
    assert after["currentStep"] == "return" and after["stage"] == "to_return"
    with services.db.read() as session:
        received = session.scalar(select(func.count()).select_from(Event).where(
            Event.process_instance_id == dossier["processInstanceId"], Event.type == "message.received"))
        assert received == 1
        assert session.get(Dossier, dossier["code"]).result["number"] == "123/QĐ-BYT"


def test_bad_callbacks_are_refused_and_change_nothing(onestop, services, counter, server):
    dossier = moh_dossier(onestop, counter)
    url = f"{server.url}/api/v1/integrations/moh/callback"
    body = {"callbackId": "cb-x", "dossierCode": dossier["code"], "approved": True}

    def state():
        with services.db.read() as session:
            return (session.scalar(select(func.count()).select_from(Event)),
                    session.scalar(select(func.count()).select_from(ProcessedMessage)),
                    session.get(Dossier, dossier["code"]).version)

    before = state()
    status, answer = signed_post(url, "not-the-secret", body)
    assert (status, answer["code"]) == (401, "bad_signature")
    status, answer = signed_post(url, MOH_SECRET, body, timestamp=int(time.time()) - 3600)
    assert (status, answer["code"]) == (401, "stale_timestamp")
    status, answer = signed_post(url, MOH_SECRET, {**body, "dossierCode": "KHONG-CO-260101-0001"})
    assert (status, answer["code"]) == (404, "unknown_dossier")
    status, answer = signed_post(url, MOH_SECRET, {"callbackId": "cb-y"})
    assert (status, answer["code"]) == (422, "validation_error")
    unsigned = httpx.post(url, json=body)
    assert unsigned.status_code == 401 and unsigned.json()["code"] == "bad_signature"
    ts = int(time.time())
    from app.integrations.signatures import sign
    garbage = httpx.post(url, content=b"{not json", headers={"X-Motcua-Timestamp": str(ts),
                                                            "X-Motcua-Signature": sign(MOH_SECRET, ts, b"{not json")})
    assert garbage.status_code == 422 and garbage.json()["code"] == "malformed_json"
    assert state() == before


# --- payment -------------------------------------------------------------------------------------

def test_online_payment_request_confirmation_duplicate_and_refund(onestop, services, counter, server):
    procedure = department_procedure(onestop)
    dossier = receive(onestop, reception_body(procedure, counter, channel="online"))
    assert dossier["feeTotal"] > 0 and dossier["feePaid"] is False
    [request] = outbox(services, topic="payment", aggregate=dossier["code"])
    assert request.kind == "payment.request" and request.payload["amount"] == dossier["feeTotal"]
    assert sum(item["amount"] for item in request.payload["items"]) == dossier["feeTotal"]

    url = f"{server.url}/api/v1/integrations/payment/callback"
    with simulator("payment") as platform:
        dispatcher = OutboxDispatcher(services.db, {"payment": payment_connector(platform.url, None, 2.0)})
        drain(dispatcher, services)
        assert [m["payload"]["reference"] for m in received_by(platform)["messages"]] == [dossier["code"]]

    paid = {"transactionId": "GD-1", "reference": dossier["code"], "amount": dossier["feeTotal"], "status": "paid"}
    status, answer = signed_post(url, PAYMENT_SECRET, {**paid, "amount": 1})
    assert (status, answer["code"]) == (422, "amount_mismatch")
    status, first = signed_post(url, PAYMENT_SECRET, paid)
    assert status == 200 and first == {"dossierCode": dossier["code"], "feePaid": True, "paymentChannel": "online"}
    status, again = signed_post(url, PAYMENT_SECRET, paid)
    assert (status, again) == (200, first)
    with services.db.read() as session:
        stored = session.get(Dossier, dossier["code"])
        assert stored.fee_paid and stored.payment["transactionId"] == "GD-1"
    status, refunded = signed_post(url, PAYMENT_SECRET, {**paid, "status": "refunded"})
    assert status == 200 and refunded["feePaid"] is False
    status, answer = signed_post(url, PAYMENT_SECRET, {**paid, "transactionId": "GD-9", "status": "refunded"})
    assert (status, answer["code"]) == (409, "unknown_transaction")


# --- idempotent messages ---------------------------------------------------------------------------

def test_a_repeated_message_id_gets_the_first_answer_and_changes_nothing(onestop, services, counter):
    dossier = moh_dossier(onestop, counter)
    body = {"messageName": "moh_result", "businessKey": dossier["code"], "messageId": "msg-1",
            "variables": {"moh_decision": "QĐ-1"}}
    first = onestop.post("/api/v1/messages", json=body)
    assert first.status_code == 200, first.text
    second = onestop.post("/api/v1/messages", json=body)
    assert second.status_code == 200 and second.json() == first.json()
    other = onestop.post("/api/v1/messages", json={**body, "variables": {"moh_decision": "QĐ-2"}})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    with services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Event).where(
            Event.process_instance_id == dossier["processInstanceId"], Event.type == "message.received")) == 1


def test_idempotency_key_on_reception_start_and_completion(onestop, services, counter):
    body = reception_body(department_procedure(onestop), counter)
    key = {"Idempotency-Key": "quay-1-lan-nop-0001"}
    first = onestop.post("/api/v1/dossiers", json=body, headers=key)
    assert first.status_code == 201, first.text
    again = onestop.post("/api/v1/dossiers", json=body, headers=key)
    assert again.status_code == 201 and again.json() == first.json()
    other = onestop.post("/api/v1/dossiers", json={**body, "channel": "post"}, headers=key)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert other.json()["field"] == "Idempotency-Key"
    with services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Dossier)) == 1

    task = open_tasks(onestop, first.json())[0]
    done = [onestop.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {"x": 1}},
                         headers={"Idempotency-Key": "hoan-thanh-buoc-0001"}) for _ in range(2)]
    assert [r.status_code for r in done] == [200, 200] and done[0].json() == done[1].json()
    without_key = onestop.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {"x": 1}})
    assert without_key.status_code == 409  # the task really was completed once

    start = [onestop.post("/api/v1/process-definitions/key/reference_procedure/start",
                          json={"businessKey": "idem-start"}, headers={"Idempotency-Key": "bat-dau-0001-abc"})
             for _ in range(2)]
    assert [r.status_code for r in start] == [201, 201] and start[0].json()["id"] == start[1].json()["id"]
    listed = onestop.get("/api/v1/process-instances", params={"businessKey": "idem-start"}).json()
    assert len(listed) == 1
