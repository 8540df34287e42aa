"""Working days from the official calendars 2024-2026, written out by hand, and admin overrides."""

from datetime import UTC, datetime

import pytest

from app.calendar.workdays import WorkingCalendar

# (start, working days to add, expected): holidays and swap days from the Prime Minister's notices.
ADD_WORKDAYS = [
    ("2024-02-07", 1, "2024-02-15"),  # Tết Giáp Thìn: off 8–14 Feb 2024
    ("2024-02-02", 4, "2024-02-15"),
    ("2024-04-17", 1, "2024-04-19"),  # Giỗ Tổ Hùng Vương, Thu 18 Apr 2024
    ("2024-04-26", 1, "2024-05-02"),  # 27 Apr–1 May off (29 Apr swapped)
    ("2024-05-03", 1, "2024-05-04"),  # ... made up on Saturday 4 May
    ("2024-05-03", 2, "2024-05-06"),
    ("2024-08-30", 1, "2024-09-04"),  # Quốc khánh: 31 Aug–3 Sep 2024
    ("2024-12-31", 1, "2025-01-02"),  # Tết Dương lịch
    ("2024-12-30", 2, "2025-01-02"),
    ("2025-01-24", 1, "2025-02-03"),  # Tết Ất Tỵ: 25 Jan–2 Feb 2025
    ("2025-01-23", 2, "2025-02-03"),
    ("2025-04-04", 1, "2025-04-08"),  # Giỗ Tổ, Mon 7 Apr 2025
    ("2025-04-25", 1, "2025-04-26"),  # Saturday 26 Apr 2025 worked for Fri 2 May
    ("2025-04-25", 2, "2025-04-28"),
    ("2025-04-29", 1, "2025-05-05"),  # 30 Apr–4 May 2025 off
    ("2025-08-29", 1, "2025-09-03"),  # Quốc khánh: 30 Aug–2 Sep 2025
    ("2025-12-31", 1, "2026-01-02"),
    ("2026-02-13", 1, "2026-02-23"),  # Tết Bính Ngọ: 14–22 Feb 2026
    ("2026-02-12", 3, "2026-02-24"),
    ("2026-04-24", 1, "2026-04-28"),  # Giỗ Tổ on Sun 26 Apr 2026, observed Mon 27
    ("2026-04-29", 1, "2026-05-04"),  # Thu 30 Apr, Fri 1 May 2026
    ("2026-08-21", 1, "2026-08-22"),  # Saturday 22 Aug 2026 worked for Mon 31 Aug
    ("2026-08-28", 1, "2026-09-03"),  # 29 Aug–2 Sep 2026 off
    ("2026-11-23", 1, "2026-11-25"),  # Ngày Văn hoá Việt Nam, 24 Nov (new in 2026)
    ("2026-11-20", 2, "2026-11-25"),
    ("2026-03-01", 1, "2026-03-02"),  # received on a Sunday
    ("2026-03-07", 5, "2026-03-13"),  # received on a Saturday
    ("2026-03-07", 0, "2026-03-07"),
    ("2024-01-01", 1, "2024-01-02"),
    ("2025-12-30", 10, "2026-01-14"),
]

WORKING = [
    ("2024-05-04", True), ("2025-04-26", True), ("2026-08-22", True), ("2025-05-02", False),
    ("2026-08-31", False), ("2026-04-27", False), ("2024-02-14", False), ("2026-11-24", False),
    ("2026-11-21", False), ("2026-11-23", True),
]


@pytest.mark.parametrize(("start", "days", "expected"), ADD_WORKDAYS)
def test_add_workdays_golden_table(client, start, days, expected):
    response = client.get("/api/v1/calendar/add-workdays", params={"start": start, "days": days})
    assert response.status_code == 200, response.text
    assert response.json() == {"date": expected}


@pytest.mark.parametrize(("day", "working"), WORKING)
def test_working_or_not_with_reason(client, day, working):
    [entry] = client.get("/api/v1/calendar", params={"from": day, "to": day}).json()
    assert entry["date"] == day and entry["working"] is working and entry["reason"]


def test_deadline_ends_at_close_of_the_last_working_day():
    calendar = WorkingCalendar()
    received = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)  # Fri 23:30 in Hà Nội time: still Friday the 20th
    assert calendar.deadline(received, 2) == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # 17:00 +07
    assert calendar.deadline(received, 0.5) == datetime(2026, 11, 23, 4, 30, tzinfo=UTC)  # 11:30 +07


def test_overrides_change_the_count_and_are_validated(client):
    added = client.post("/api/v1/calendar/overrides", json={
        "date": "2026-12-31", "kind": "day-off", "reason": "Nghỉ bù theo thông báo của UBND thành phố",
        "legalReference": "TB 123/TB-UBND"}, headers={"X-Actor": "quan_tri"})
    assert added.status_code == 201, added.text
    override_id = added.json()["id"]
    assert client.get("/api/v1/calendar/add-workdays", params={"start": "2026-12-30", "days": 1}).json() \
        == {"date": "2027-01-04"}
    [entry] = client.get("/api/v1/calendar", params={"from": "2026-12-31", "to": "2026-12-31"}).json()
    assert entry["working"] is False and "điều chỉnh" in entry["reason"]
    worked = client.post("/api/v1/calendar/overrides", json={
        "date": "2027-01-09", "kind": "working-day", "reason": "Làm bù ngày 31/12"})
    assert worked.status_code == 201
    assert client.get("/api/v1/calendar/add-workdays", params={"start": "2027-01-08", "days": 1}).json() \
        == {"date": "2027-01-09"}

    twice = client.post("/api/v1/calendar/overrides", json={"date": "2026-12-31", "kind": "day-off",
                                                           "reason": "Lần hai"})
    assert twice.status_code == 422 and twice.json()["code"] == "overlapping_override"
    pointless = client.post("/api/v1/calendar/overrides", json={"date": "2026-12-30", "kind": "working-day",
                                                               "reason": "Đã là ngày làm việc"})
    assert pointless.status_code == 422 and pointless.json()["code"] == "override_without_effect"
    assert len(client.get("/api/v1/calendar/overrides").json()) == 2

    assert client.delete(f"/api/v1/calendar/overrides/{override_id}").status_code == 204
    assert client.delete(f"/api/v1/calendar/overrides/{override_id}").status_code == 404
    assert client.get("/api/v1/calendar/add-workdays", params={"start": "2026-12-30", "days": 1}).json() \
        == {"date": "2026-12-31"}


@pytest.mark.parametrize("params", [
    {"start": "2026-02-30", "days": 1},
    {"start": "2026-01-01", "days": -1},
    {"start": "2026-01-01", "days": 100000},
    {"start": "hôm nay", "days": 1},
])
def test_bad_add_workdays_parameters(client, params):
    response = client.get("/api/v1/calendar/add-workdays", params=params)
    assert response.status_code == 422 and response.json()["code"] == "validation_error"


def test_bad_calendar_ranges(client):
    assert client.get("/api/v1/calendar", params={"from": "2026-02-01", "to": "2026-01-01"}).status_code == 422
    assert client.get("/api/v1/calendar", params={"from": "2020-01-01", "to": "2026-01-01"}).status_code == 422
    bad = client.post("/api/v1/calendar/overrides", json={"date": "2026-12-31", "kind": "holiday", "reason": "x y"})
    assert bad.status_code == 422 and bad.json()["field"] == "kind"
