"""Deadline rules over 2024–2026, expected dates written out by hand from the official calendars, and the
worker's deadline scan (overdue dossiers and steps, apology reminder)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from app.calendar import rules
from app.calendar.workdays import WorkingCalendar
from app.dossiers.deadlines import DeadlineScan, apology_reminder_at
from persistence.dossier_models import Dossier
from persistence.integration_models import OutboxMessage
from persistence.models import Event, HumanTask
from tests.onestop import install_catalogue, procedures, receive, reception_body, units

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkingCalendar()


def at(text: str) -> datetime:
    """'2026-03-02 16:45' in Hà Nội time."""
    return datetime.fromisoformat(text).replace(tzinfo=VN)


# Official days off used below (Prime Minister / Ministry of Home Affairs notices):
# Tết Giáp Thìn 8–14 Feb 2024 · Giỗ Tổ Thu 18 Apr 2024 · 27 Apr–1 May 2024 (Mon 29 Apr swapped, Sat 4 May
# worked) · 31 Aug–3 Sep 2024 · 1 Jan 2025 · Tết Ất Tỵ 25 Jan–2 Feb 2025 · Giỗ Tổ Mon 7 Apr 2025 ·
# 30 Apr–4 May 2025 (Fri 2 May swapped, Sat 26 Apr worked) · 30 Aug–2 Sep 2025 · Tết Bính Ngọ 14–22 Feb 2026 ·
# Giỗ Tổ Sun 26 Apr 2026 → Mon 27 Apr · 30 Apr–3 May 2026 · 29 Aug–2 Sep 2026 (Mon 31 Aug swapped, Sat 22 Aug
# worked) · Ngày Văn hoá Việt Nam Tue 24 Nov 2026.
PROCESSING = [
    # received, limit, unit, appointment (all Hà Nội time); working days end at 17:00 of the last day
    ("2024-02-07 10:00", 1, "working_days", "2024-02-15 17:00"),  # last day before Tết Giáp Thìn
    ("2024-02-02 10:00", 5, "working_days", "2024-02-16 17:00"),  # 5,6,7 | Tết | 15,16
    ("2025-01-24 09:00", 3, "working_days", "2025-02-05 17:00"),  # Tết Ất Tỵ: back Mon 3 Feb
    ("2026-02-13 14:00", 2, "working_days", "2026-02-24 17:00"),  # Tết Bính Ngọ: back Mon 23 Feb
    ("2026-02-11 08:00", 5, "working_days", "2026-02-25 17:00"),  # 12,13 | Tết | 23,24,25
    ("2024-04-17 09:00", 2, "working_days", "2024-04-22 17:00"),  # Giỗ Tổ Thu 18 Apr 2024
    ("2025-04-04 16:00", 1, "working_days", "2025-04-08 17:00"),  # Giỗ Tổ Mon 7 Apr 2025
    ("2026-04-24 10:00", 3, "working_days", "2026-05-04 17:00"),  # Mon 27 Apr observed, 30/4–1/5 off
    ("2024-04-26 09:00", 1, "working_days", "2024-05-02 17:00"),  # 27 Apr–1 May 2024 off
    ("2024-05-03 09:00", 1, "working_days", "2024-05-04 17:00"),  # Sat 4 May 2024 worked
    ("2025-04-29 09:00", 2, "working_days", "2025-05-06 17:00"),  # 30 Apr–4 May 2025 off
    ("2025-04-25 09:00", 1, "working_days", "2025-04-26 17:00"),  # Sat 26 Apr 2025 worked
    ("2026-04-29 09:00", 1, "working_days", "2026-05-04 17:00"),  # Thu 30 Apr, Fri 1 May 2026
    ("2024-08-30 10:00", 2, "working_days", "2024-09-05 17:00"),  # 31 Aug–3 Sep 2024 off
    ("2025-08-29 10:00", 1, "working_days", "2025-09-03 17:00"),  # 2/9 with adjacent Mon 1 Sep 2025
    ("2026-08-21 10:00", 1, "working_days", "2026-08-22 17:00"),  # Sat 22 Aug 2026 worked
    ("2026-08-28 10:00", 1, "working_days", "2026-09-03 17:00"),  # 29 Aug–2 Sep 2026 off
    ("2024-12-31 10:00", 1, "working_days", "2025-01-02 17:00"),  # New Year's Day
    ("2026-11-23 09:00", 1, "working_days", "2026-11-25 17:00"),  # Ngày Văn hoá Việt Nam
    ("2026-03-01 10:00", 3, "working_days", "2026-03-04 17:00"),  # received on a Sunday (online)
    ("2026-03-07 20:00", 5, "working_days", "2026-03-13 17:00"),  # received on a Saturday evening
    ("2026-03-06 23:30", 1, "working_days", "2026-03-09 17:00"),  # late Friday night is still Friday
    ("2026-03-02 16:45", 1, "working_days", "2026-03-03 17:00"),  # after 15:00: reception still counts next day
    ("2026-03-02 10:00", 0.5, "working_days", "2026-03-03 11:30"),  # half a day: midday of the next day
    ("2024-02-07 10:00", 1.5, "working_days", "2024-02-16 11:30"),  # 1 day → Thu 15, half → Fri 16 midday
    ("2026-03-02 08:00", 8, "working_hours", "2026-03-03 08:30"),  # 3.5 h + 3.5 h Monday, 1 h Tuesday
    ("2026-03-02 12:00", 2, "working_hours", "2026-03-02 15:30"),  # lunch does not count
    ("2026-02-13 16:00", 8, "working_hours", "2026-02-23 16:30"),  # 1 h before Tết, 7 h after it
    ("2026-03-01 09:00", 4, "working_hours", "2026-03-02 11:30"),  # Sunday: counts from Monday 07:30
    ("2026-03-02 11:00", 0.5, "working_hours", "2026-03-02 11:30"),
]

TRANSFERS = [
    # transferred at, counts from (Art. 18: after 15:00 → next working day)
    ("2026-03-02 14:59", "2026-03-02"),
    ("2026-03-02 15:00", "2026-03-03"),
    ("2026-02-13 15:30", "2026-02-23"),  # Friday before Tết Bính Ngọ
    ("2024-05-04 09:00", "2024-05-04"),  # a make-up Saturday is a working day
    ("2026-03-01 10:00", "2026-03-02"),  # Sunday
]

SUPPLEMENT_RESTARTS = [
    # completed dossier returns at, full legal time again, new appointment
    ("2026-04-14 10:00", 10, "2026-04-29 17:00"),  # 15,16,17,20,21,22,23,24 | Mon 27 off | 28,29
    ("2025-08-28 10:00", 3, "2025-09-04 17:00"),  # 29 | 30 Aug–2 Sep off | 3,4
]

EXTENSIONS = [
    # appointment, extension in working days, new appointment
    ("2026-04-24 17:00", 3, "2026-05-04 17:00"),
    ("2024-02-07 17:00", 5, "2024-02-21 17:00"),
    ("2025-04-25 17:00", 1, "2025-04-26 17:00"),
]

APOLOGY_REMINDERS = [
    # appointment, the last day to send the apology (Form 04): opening of the working day before
    ("2026-02-23 17:00", "2026-02-13 07:30"),
    ("2026-03-03 17:00", "2026-03-02 07:30"),
    ("2024-05-06 17:00", "2024-05-04 07:30"),
]


@pytest.mark.parametrize(("received", "amount", "unit", "expected"), PROCESSING)
def test_processing_deadline(received, amount, unit, expected):
    assert rules.processing_deadline(CAL, at(received), amount, unit) == at(expected)


@pytest.mark.parametrize(("moment", "expected"), TRANSFERS)
def test_transfer_after_three_pm_counts_from_the_next_working_day(moment, expected):
    assert rules.transfer_counts_from(CAL, at(moment)) == date.fromisoformat(expected)


def test_a_step_after_a_late_transfer_gets_one_more_day():
    assert rules.transfer_deadline(CAL, at("2026-03-02 14:00"), 1) == at("2026-03-03 17:00")
    assert rules.transfer_deadline(CAL, at("2026-03-02 16:00"), 1) == at("2026-03-04 17:00")


@pytest.mark.parametrize(("returned", "days", "expected"), SUPPLEMENT_RESTARTS)
def test_supplement_restarts_the_clock_from_zero(returned, days, expected):
    assert rules.after_supplement(CAL, at(returned), days) == at(expected)


@pytest.mark.parametrize(("appointment", "days", "expected"), EXTENSIONS)
def test_the_extension_moves_the_appointment(appointment, days, expected):
    assert rules.extended(CAL, at(appointment), days) == at(expected)


@pytest.mark.parametrize(("appointment", "expected"), APOLOGY_REMINDERS)
def test_apology_reminder_one_working_day_before(appointment, expected):
    assert apology_reminder_at(CAL, at(appointment)) == at(expected)


def test_the_golden_table_has_at_least_forty_cases():
    cases = PROCESSING + TRANSFERS + SUPPLEMENT_RESTARTS + EXTENSIONS + APOLOGY_REMINDERS
    assert len(cases) >= 40


# --- the worker's deadline scan --------------------------------------------------------------------

@pytest.fixture
def dossier_setup(services, client):
    install_catalogue(services)
    procedure = next(p for p in procedures(client, level="department") if not p["mohCentralized"])
    unit = next(u["code"] for u in units(client, "division") if "Một cửa" in u["name"])
    return procedure, unit


def notices(services) -> list[OutboxMessage]:
    """What the staff notification channel will receive (outbox topic `notify`)."""
    with services.db.read() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "notify")
                                    .order_by(OutboxMessage.id)))


def scan(services, now: datetime) -> int:
    deadline_scan = next(s for s in services.worker.scans if isinstance(s, DeadlineScan))
    return deadline_scan(now)


def history(services, type_: str) -> list[Event]:
    with services.db.read() as session:
        return list(session.scalars(select(Event).where(Event.type == type_)))


def test_overdue_dossier_and_step_are_flagged_once(services, client, dossier_setup):
    procedure, unit = dossier_setup
    long_ago = datetime.now(UTC) - timedelta(days=200)
    late = receive(client, reception_body(procedure, unit, received_at=long_ago))
    on_time = receive(client, reception_body(procedure, unit, id_number="001203009999"))
    now = datetime.now(UTC)
    assert scan(services, now) >= 1
    [event] = history(services, "dossier.overdue")
    assert event.data["code"] == late["code"] and event.process_instance_id == late["processInstanceId"]
    with services.db.read() as session:
        flagged = {d.code: d.overdue_at for d in session.scalars(select(Dossier))}
    assert flagged[late["code"]] is not None and flagged[on_time["code"]] is None
    scan(services, now + timedelta(minutes=1))
    assert len(history(services, "dossier.overdue")) == 1
    assert [n.aggregate for n in notices(services) if n.kind == "dossier.overdue"] == [late["code"]]

    with services.db.read() as session:
        step_due = session.scalar(select(HumanTask.due_at).where(
            HumanTask.process_instance_id == on_time["processInstanceId"], HumanTask.status == "open"))
    assert step_due is not None
    scan(services, step_due + timedelta(minutes=1))
    steps = [e for e in history(services, "task.overdue") if e.process_instance_id == on_time["processInstanceId"]]
    assert len(steps) == 1 and steps[0].data["dueAt"] == step_due.isoformat()
    scan(services, step_due + timedelta(minutes=2))
    assert len([e for e in history(services, "task.overdue")
                if e.process_instance_id == on_time["processInstanceId"]]) == 1


def test_apology_reminder_comes_the_working_day_before_and_not_after_an_extension(services, client,
                                                                                  dossier_setup):
    procedure, unit = dossier_setup
    received = receive(client, reception_body(procedure, unit))
    appointment = datetime.fromisoformat(received["appointmentAt"])
    remind_at = apology_reminder_at(CAL, appointment)
    scan(services, remind_at - timedelta(minutes=1))
    assert history(services, "dossier.apology_due") == []
    scan(services, remind_at)
    [event] = history(services, "dossier.apology_due")
    assert event.data["code"] == received["code"] and event.data["form"] == "04"
    scan(services, remind_at + timedelta(hours=1))
    assert len(history(services, "dossier.apology_due")) == 1
    [notice] = [n for n in notices(services) if n.kind == "dossier.apology_due"]
    assert notice.aggregate == received["code"] and "Mẫu 04" in notice.payload["message"]

    other = receive(client, reception_body(procedure, unit, id_number="001203008888"))
    extended = client.post(f"/api/v1/dossiers/{other['code']}/actions/extend",
                           json={"reason": "Cần xác minh thêm", "days": 3}, headers={"X-Actor": "lanh_dao"})
    assert extended.status_code == 200, extended.text
    scan(services, datetime.fromisoformat(extended.json()["appointmentAt"]))
    assert [e.data["code"] for e in history(services, "dossier.apology_due")] == [received["code"]]


def test_moved_appointment_clears_the_overdue_flag(services, client, dossier_setup):
    procedure, unit = dossier_setup
    late = receive(client, reception_body(procedure, unit, received_at=datetime.now(UTC) - timedelta(days=200)))
    scan(services, datetime.now(UTC))
    with services.db.transaction() as session:  # as a supplement restart would do
        session.execute(update(Dossier).where(Dossier.code == late["code"]).values(
            appointment_at=datetime.now(UTC) + timedelta(days=10)))
    scan(services, datetime.now(UTC))
    with services.db.read() as session:
        assert session.get(Dossier, late["code"]).overdue_at is None
