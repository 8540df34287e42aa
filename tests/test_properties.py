"""Hypothesis property tests: the working-day calendar and dossier codes."""

import re
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.calendar.workdays import LOCAL_TZ, WorkingCalendar
from app.dossiers.codes import next_code

DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))
COUNTS = st.integers(min_value=0, max_value=120)
OVERRIDES = st.dictionaries(st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 12, 31)), st.booleans(),
                            max_size=30)
PROPERTY = settings(max_examples=150, deadline=None, database=None)


@PROPERTY
@given(start=DAYS, n=st.integers(min_value=1, max_value=120), overrides=OVERRIDES)
def test_adding_working_days_never_lands_on_a_day_off(start, n, overrides):
    calendar = WorkingCalendar(overrides)
    assert calendar.is_working_day(calendar.add_working_days(start, n))


@PROPERTY
@given(start=DAYS, n=COUNTS, m=COUNTS, overrides=OVERRIDES)
def test_n_plus_m_working_days_is_n_then_m(start, n, m, overrides):
    calendar = WorkingCalendar(overrides)
    assert calendar.add_working_days(start, n + m) == calendar.add_working_days(
        calendar.add_working_days(start, n), m)


@PROPERTY
@given(first=DAYS, gap=st.integers(min_value=0, max_value=60), n=COUNTS, extra=COUNTS, overrides=OVERRIDES)
def test_adding_working_days_is_monotonic_in_start_and_count(first, gap, n, extra, overrides):
    calendar = WorkingCalendar(overrides)
    later = first + timedelta(days=gap)
    assert calendar.add_working_days(first, n) <= calendar.add_working_days(later, n)
    assert calendar.add_working_days(first, n) <= calendar.add_working_days(first, n + extra)
    if n > 0:
        assert calendar.add_working_days(first, n) > first


@PROPERTY
@given(start=DAYS, n=COUNTS, overrides=OVERRIDES)
def test_working_days_between_counts_back_what_was_added(start, n, overrides):
    calendar = WorkingCalendar(overrides)
    assert calendar.working_days_between(start, calendar.add_working_days(start, n)) == n


@PROPERTY
@given(start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
       days=st.integers(min_value=1, max_value=60), half=st.booleans())
def test_a_deadline_ends_on_a_working_day_after_the_start(start, days, half):
    calendar = WorkingCalendar()
    end = calendar.deadline(start, days + (0.5 if half else 0))
    assert end > start
    assert calendar.is_working_day(end.astimezone(LOCAL_TZ).date())


@PROPERTY
@given(start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
       h1=st.integers(min_value=0, max_value=200), h2=st.integers(min_value=1, max_value=200))
def test_working_hours_add_up(start, h1, h2):
    # h2 > 0: a first leg ending at a closing time (11:30, 17:00) plus zero hours is, by design, the next
    # opening (a start outside working time counts from the next period), so n + 0 != n there.
    calendar = WorkingCalendar()
    quarter = 0.25  # quarters of an hour keep the sums exact
    once = calendar.add_working_hours(start, (h1 + h2) * quarter)
    twice = calendar.add_working_hours(calendar.add_working_hours(start, h1 * quarter), h2 * quarter)
    assert once == twice
    assert once >= start


CODE = re.compile(r"^(?P<agency>[A-Z0-9.]+)-(?P<day>\d{6})-(?P<seq>\d{4,})$")


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(receptions=st.lists(st.tuples(st.sampled_from(["A", "B", "C"]),
                                     st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 1, 4),
                                                  timezones=st.just(UTC))), min_size=1, max_size=25))
def test_dossier_codes_are_unique_gapless_and_dated_in_local_time(fresh_services, receptions):
    prefix = "H" + uuid.uuid4().hex[:6].upper()  # each example has agencies of its own
    codes = []
    with fresh_services.db.transaction() as session:
        for agency, received_at in receptions:
            codes.append((f"{prefix}.{agency}", received_at, next_code(session, f"{prefix}.{agency}", received_at)))
    assert len({code for _, _, code in codes}) == len(codes)
    per_day: Counter = Counter()
    for agency, received_at, code in codes:
        match = CODE.match(code)
        assert match is not None and match["agency"] == agency
        assert match["day"] == received_at.astimezone(LOCAL_TZ).strftime("%y%m%d")
        per_day[(agency, match["day"])] += 1
        assert int(match["seq"]) == per_day[(agency, match["day"])]  # numbered 1, 2, 3 … in order, no gap
