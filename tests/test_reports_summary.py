"""The daily summary gives the same counts as the live query, and stays so as dossiers change."""

import threading
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import update

from app.reports.figures import GROUPINGS, count_by_group
from app.reports.generator import generate
from app.reports.summary import day_start, refresh, summed
from persistence.dossier_models import Dossier
from persistence.report_models import DossierRating
from tests import report_fixture
from tests.report_fixture import AS_OF

PERIODS = [(date(2025, 1, 1), date(2025, 3, 31)), (date(2025, 4, 1), date(2025, 6, 30)),
           (date(2025, 1, 1), date(2025, 12, 31)), (date(2025, 2, 3), date(2025, 2, 3))]


def assert_summary_matches_live(services, as_of):
    with services.db.read() as session:
        for first, last in PERIODS:
            for group_by in GROUPINGS:
                live = count_by_group(session, day_start(first), day_start(last + timedelta(days=1)), group_by, as_of)
                assert summed(session, first, last, group_by) == live, (first, last, group_by)
            live = count_by_group(session, day_start(first), day_start(last + timedelta(days=1)), "procedure", as_of,
                                  unit="XA1")
            assert summed(session, first, last, "procedure", unit="XA1") == live


def test_summary_equals_live_and_follows_changes(services):
    report_fixture.load(services)
    with services.db.transaction() as session:
        assert refresh(session, AS_OF) == -1  # first time: rebuilt whole
    assert_summary_matches_live(services, AS_OF)
    with services.db.transaction() as session:
        assert refresh(session, AS_OF) == 0  # nothing changed

    # A06 (received 4 Feb) is finished and rated, A07 (5 Feb) comes back from supplement.
    later = AS_OF + timedelta(days=1)
    with services.db.transaction() as session:
        session.execute(update(Dossier).where(Dossier.code == "A06").values(
            status="returned", finished_at=later, updated_at=later))
        session.execute(update(Dossier).where(Dossier.code == "A07").values(
            status="in_progress", appointment_at=later + timedelta(days=10), updated_at=later))
        session.add(DossierRating(dossier_code="A06", score=1, complaint="Quá hạn", rated_at=later))
    with services.db.transaction() as session:
        assert refresh(session, later) == 2  # only P1 at SYT of 4 and of 5 February is recounted
    assert_summary_matches_live(services, later)
    with services.db.read() as session:
        (q1,) = summed(session, *PERIODS[0], "city")
    assert (q1.finished, q1.open_overdue, q1.ratings, q1.complaints) == (12, 1, 8, 3)

    # C01 is transferred from the commune to the Department: the unit it left is recounted too.
    with services.db.transaction() as session:
        session.execute(update(Dossier).where(Dossier.code == "C01").values(
            competent_unit="SYT", transfers=[{"from": "XA1", "to": "SYT"}], updated_at=later))
    with services.db.transaction() as session:
        # P2 of 27 January at SYT and at XA1, plus A06 and A07 again (written within the 2-minute overlap)
        assert refresh(session, later + timedelta(minutes=10)) == 4
    assert_summary_matches_live(services, later + timedelta(minutes=10))
    with services.db.read() as session:
        assert {c.group: c.received for c in summed(session, *PERIODS[0], "unit")} == {"SYT": 14, "XA1": 3}

    # Nothing is written, but D03's appointment (30 July) passes: the refresh finds it and counts it late.
    august = datetime(2025, 8, 2, tzinfo=UTC)
    with services.db.transaction() as session:
        assert refresh(session, august) >= 1
    assert_summary_matches_live(services, august)
    with services.db.read() as session:
        (q2,) = summed(session, *PERIODS[1], "city")
    assert (q2.late, q2.open_overdue) == (2, 1)


def test_summary_on_generated_data_and_concurrent_readers(services):
    generate(services.db, 600, year=2025, seed=11, batch=200)
    now = datetime.now(UTC)
    with services.db.transaction() as session:
        refresh(session, now)
    assert_summary_matches_live(services, now)

    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def read() -> None:
        try:
            barrier.wait()
            rows = services.reports.service_quality(date(2025, 1, 1), date(2025, 12, 31), "unit").rows
            assert sum(r.received for r in rows) == 600
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
