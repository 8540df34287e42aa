"""Service-quality figures on the hand-built fixture (tests/report_fixture.py), every figure by hand.

Q1 2025 (1 Jan – 31 Mar, local time), judged as of 15 Jul 2025: 17 dossiers received (A01–A10, B01–B03,
C01–C04; B02 came at 23:30 on 31 Mar, still Q1; D03 at 00:10 on 1 Apr is Q2).
"""

from datetime import date
from fractions import Fraction as F

import pytest

from app.errors import InvalidInput
from tests import report_fixture
from tests.report_fixture import AS_OF

Q1 = (date(2025, 1, 1), date(2025, 3, 31))
Q2 = (date(2025, 4, 1), date(2025, 6, 30))


@pytest.fixture
def loaded(services):
    report_fixture.load(services)
    return services


def report(services, period, group_by="city", unit=None):
    return services.reports.service_quality(*period, group_by, unit, as_of=AS_OF)


def test_city_figures_for_q1_computed_by_hand(loaded):
    (row,) = report(loaded, Q1).rows
    assert (row.group, row.group_name) == ("city", "Toàn thành phố")
    assert row.received == 17
    assert row.withdrawn == 1  # A09
    assert row.evaluated == 16  # 17 − 1 withdrawn
    # A01 A02 A03 A04 A08 B01 B02 C01 C02 C03 C04 (A10 was refused: decided, not finished)
    assert row.finished == 11
    # late: A02 + B02 + C04 decided after the appointment, A04 apologised (extension), A08 had a second
    # supplement, A06 + B03 still open past the appointment. A07 waits for the applicant: its clock is stopped.
    assert row.late == 7
    assert row.on_time == 9  # A01 A03 A05 A07 A10 B01 C01 C02 C03
    assert row.overdue_with_apology == 1  # A04
    assert row.open_overdue == 2  # A06 B03
    assert row.on_time_rate == 9 / 16
    assert row.late_rate == 7 / 16
    # online: A01 A02 A03 A05 A06 A07 A08 A10 B03 C02
    assert row.online_rate == 10 / 17
    # full online: P1 (offered fully online) dossiers A01–A10; online and paid online: A01 A02 A05 A07 A08 A10
    assert (row.full_online, row.full_online_offered) == (6, 10)
    assert row.full_online_rate == 6 / 10
    # fee-bearing: the 10 P1 + 4 P2 dossiers; paid online: A01 A02 A05 A07 A08 A10 C02 = 7
    assert (row.fee_bearing, row.paid, row.paid_online) == (14, 11, 7)
    assert row.online_payment_rate == 7 / 14
    # paid at all: P1 except A06, A09 (8) + C01 C02 C03 (3) = 11
    assert row.online_payment_share == 7 / 11
    # electronic results among the 11 finished: A01 A02 A08 B01 C02 C03
    assert row.e_result_rate == 6 / 11
    # every part digitised: A01 A03 A05 A06 A07 A08 A10 B01 B03 C02 C03
    assert row.digitisation_rate == 11 / 17
    # a part reused or from the national store: A01 A05 B01 C03
    assert row.reuse_rate == 4 / 17
    # ratings: A01 5, A02 2, A03 4, B01 5, C01 3, C02 5, C03 4 → 28 / 7; complaints: A02 C01
    assert (row.ratings, row.rating_average, row.complaints) == (7, 4.0, 2)
    assert row.complaint_rate == 2 / 16
    assert row.satisfaction_rate == float(1 - F(7, 16) - F(2, 16))  # 7/16
    # Decision 766 points: full at the target, pro-rated below it.
    expected = {
        "onTimeRate": 20 * F(9, 16) / F(97, 100),  # 1125/97
        "fullOnlineRate": 12 * F(6, 10) / F(8, 10),  # 9
        "onlinePaymentRate": 10 * F(1, 2) / F(8, 10),  # 25/4
        "digitisationRate": 11 * F(11, 17) / F(8, 10),  # 605/68
        "reuseRate": 11 * F(4, 17) / F(8, 10),  # 55/17
        "satisfactionRate": 18 * F(7, 16) / F(9, 10),  # 35/4
    }
    checks = {c.figure: c for c in row.checks}
    for figure, value in expected.items():
        assert checks[figure].points == float(value), figure
        assert checks[figure].passed is False
    assert expected["onTimeRate"] == F(1125, 97) and expected["satisfactionRate"] == F(35, 4)
    assert row.points == float(sum(expected.values()))
    assert row.points_max == 82
    assert checks["onlineRate"].target == 0.5 and checks["onlineRate"].passed is True  # 10/17 ≥ 50%
    assert checks["onTimeRate"].target == 0.97


def test_units_in_q1(loaded):
    rows = {r.group: r for r in report(loaded, Q1, "unit").rows}
    assert list(rows) == ["SYT", "XA1"]
    syt, xa1 = rows["SYT"], rows["XA1"]
    assert syt.group_name == "Sở Y tế Hải Phòng"
    # SYT: A01–A10, B01–B03; late A02 A04 A06 A08 B02 B03 among 12 evaluated
    assert (syt.received, syt.evaluated, syt.late, syt.on_time_rate) == (13, 12, 6, 6 / 12)
    # XA1: C01–C04; C04 late
    assert (xa1.received, xa1.finished, xa1.on_time_rate) == (4, 4, 3 / 4)
    assert xa1.online_rate == 1 / 4  # C02
    assert xa1.full_online_rate is None  # P2 is not offered fully online: no denominator
    assert xa1.online_payment_rate == 1 / 4 and xa1.online_payment_share == 1 / 3
    assert xa1.e_result_rate == 2 / 4 and xa1.digitisation_rate == 2 / 4 and xa1.reuse_rate == 1 / 4
    assert xa1.complaint_rate == 1 / 4 and xa1.satisfaction_rate == 1 / 2  # 1 − 1/4 − 1/4
    # no full-online figure: its 12 points leave the maximum
    assert xa1.points_max == 70
    assert xa1.points == float(20 * F(3, 4) / F(97, 100) + 10 * F(1, 4) / F(8, 10) + 11 * F(2, 4) / F(8, 10)
                               + 11 * F(1, 4) / F(8, 10) + 18 * F(1, 2) / F(9, 10))


def test_groupings_and_second_period(loaded):
    sectors = {r.group: r.received for r in report(loaded, Q1, "sector").rows}
    assert sectors == {"Dược": 10, "Khám bệnh, chữa bệnh": 3, "Y tế dự phòng": 4}
    levels = {r.group: (r.group_name, r.received) for r in report(loaded, Q1, "level").rows}
    assert levels == {"commune": ("Cấp xã", 4), "department": ("Cấp Sở", 13)}
    procedures = {r.group: r.on_time_rate for r in report(loaded, Q1, "procedure").rows}
    # P1: late A02 A04 A06 A08 of 9 evaluated; P2: C04 of 4; P3: B02 B03 of 3
    assert procedures == {"P1": 5 / 9, "P2": 3 / 4, "P3": 1 / 3}
    (q2,) = report(loaded, Q2).rows
    # D01 on time, D02 late, D03 (received 00:10 on 1 April) open within its appointment
    assert (q2.received, q2.late, q2.on_time_rate, q2.finished) == (3, 1, 2 / 3, 2)
    (only_commune,) = report(loaded, Q1, "procedure", unit="XA1").rows
    assert (only_commune.group, only_commune.received) == ("P2", 4)
    assert report(loaded, (date(2024, 1, 1), date(2024, 12, 31))).rows == []


@pytest.mark.parametrize("period,group_by,unit,field", [
    ((date(2025, 3, 1), date(2025, 2, 1)), "city", None, "to"),
    ((date(2019, 1, 1), date(2025, 2, 1)), "city", None, "from"),
    (Q1, "district", None, "groupBy"),
    (Q1, "unit", "NOWHERE", "unit"),
])
def test_bad_parameters_are_refused_with_the_field(loaded, period, group_by, unit, field):
    with pytest.raises(InvalidInput) as caught:
        report(loaded, period, group_by, unit)
    assert caught.value.field == field
