"""A supplement request left unanswered for 15 days closes the dossier (DOMAIN §5): status 8, instance
terminated, history and national-portal message written; 14 days is not enough; a late answer is refused."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from persistence.dossier_models import Dossier
from persistence.integration_models import OutboxMessage
from persistence.models import Event
from tests.onestop import act, install_catalogue, procedures, receive, reception_body, units


def test_unanswered_supplement_closes_the_dossier_after_15_days(services, client):
    install_catalogue(services)
    counter = next(u["code"] for u in units(client, "division") if "Một cửa" in u["name"])
    procedure = next(p for p in procedures(client, level="department") if not p["mohCentralized"])
    late, recent = (receive(client, reception_body(procedure, counter)) for _ in range(2))
    for dossier in (late, recent):
        act(client, dossier["code"], "supplement-request", {"reason": "Thiếu bản sao", "documents": ["Bản sao"]})
    now = datetime.now(UTC)
    with services.db.transaction() as session:
        for dossier, age in ((late, timedelta(days=15, minutes=1)), (recent, timedelta(days=14))):
            session.execute(update(Dossier).where(Dossier.code == dossier["code"])
                            .values(supplement_requested_at=now - age))

    assert services.lifecycle.close_unanswered_supplements(now) == 1
    assert services.lifecycle.close_unanswered_supplements(now) == 0  # once only

    closed = client.get(f"/api/v1/dossiers/{late['code']}").json()
    assert (closed["status"], closed["statusCode"], closed["stage"]) == ("closed", 8, "withdrawn")
    instance = client.get(f"/api/v1/process-instances/{late['processInstanceId']}").json()
    assert instance["status"] == "terminated" and instance["openTasks"] == []
    assert client.get(f"/api/v1/dossiers/{recent['code']}").json()["status"] == "supplement_requested"
    with services.db.read() as session:
        assert session.scalar(select(Event.actor).where(Event.process_instance_id == late["processInstanceId"],
                                                        Event.type == "dossier.closed")) == "worker"
        portal = session.scalars(select(OutboxMessage).where(OutboxMessage.aggregate == late["code"],
                                                             OutboxMessage.topic == "dvcqg")
                                 .order_by(OutboxMessage.sequence)).all()
        assert portal[-1].kind == "dossier.closed" and portal[-1].payload["dossier"]["TrangThaiHoSo"] == 8
    act(client, late["code"], "supplement-received", {}, expect=409)
    withdrawn = client.get("/api/v1/dossiers", params={"queue": "withdrawn", "unit": closed["competentUnit"]}).json()
    assert [d["code"] for d in withdrawn] == [late["code"]]
