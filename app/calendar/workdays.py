"""Working days of the Vietnamese civil service: weekends, public holidays and swap days (`holidays`).

Times are stored in UTC and reasoned about in Asia/Ho_Chi_Minh. Admin overrides (extra days off,
make-up working days) are passed in; the calendar issue adds their storage and API.
"""

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MORNING = (time(7, 30), time(11, 30))
AFTERNOON = (time(13, 30), time(17, 0))
DAY_END = AFTERNOON[1]
MIDDAY = MORNING[1]
MAX_DAYS = 3_660


@lru_cache(maxsize=64)
def _vn_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=year, language="vi")


def why(day: date, overrides: Mapping[date, tuple[bool, str]] | None = None) -> tuple[bool, str]:
    """Whether `day` is a working day, and the reason in Vietnamese."""
    if overrides and day in overrides:
        return overrides[day]
    national = _vn_holidays(day.year)
    if day in national:
        return False, national.get(day)
    if day in national.weekend_workdays:
        return True, "Ngày làm việc bù"
    if day.weekday() == 5:
        return False, "Thứ Bảy"
    if day.weekday() == 6:
        return False, "Chủ nhật"
    return True, "Ngày làm việc"


class WorkingCalendar:
    def __init__(self, overrides: Mapping[date, bool] | None = None) -> None:
        """`overrides` maps a date to True (a make-up working day) or False (an extra day off)."""
        self.overrides = dict(overrides or {})
        # A calendar lives for one transaction, where a batch asks for the same days many times over.
        self._working: dict[date, bool] = {}
        self._added: dict[tuple[date, int], date] = {}

    def is_working_day(self, day: date) -> bool:
        known = self._working.get(day)
        if known is None:
            known = self._working[day] = (self.overrides[day] if day in self.overrides
                                          else _vn_holidays(day.year).is_working_day(day))
        return known

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        current = day + timedelta(days=1)
        for _ in range(MAX_DAYS):
            if self.is_working_day(current):
                return current
            current += timedelta(days=1)
        raise ValueError("no working day within ten years")

    def add_working_days(self, start: date, days: int) -> date:
        """The `days`-th working day after `start` (the start day itself never counts)."""
        if days < 0 or days > MAX_DAYS:
            raise ValueError("days must be between 0 and 3660")
        known = self._added.get((start, days))
        if known is None:
            known = start
            for _ in range(days):
                known = self.next_working_day(known)
            self._added[(start, days)] = known
        return known

    def deadline(self, start: datetime, working_days: float) -> datetime:
        """When a limit of `working_days` counted from `start` runs out (UTC).

        The count begins on the working day after `start` (Civil Code Art. 147) and ends at the close of
        the last working day; half a day ends at midday of the following working day.
        """
        local_day = start.astimezone(LOCAL_TZ).date()
        whole = math.floor(working_days)
        fraction = working_days - whole
        end_day = self.add_working_days(local_day, whole)
        if fraction > 0:
            end_day = self.next_working_day(end_day)
            end = datetime.combine(end_day, MIDDAY, LOCAL_TZ)
        else:
            end = datetime.combine(end_day, DAY_END, LOCAL_TZ)
        return end.astimezone(UTC)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """When `hours` working hours counted from `start` run out (UTC).

        Time outside the working periods (nights, lunch, days off) does not count; a start outside them
        counts from the next period's opening.
        """
        if hours < 0 or hours > MAX_DAYS * 8:
            raise ValueError("hours must be between 0 and 29280")
        remaining = timedelta(hours=hours)
        local = start.astimezone(LOCAL_TZ)
        day = local.date()
        for _ in range(MAX_DAYS * 2):
            if self.is_working_day(day):
                for opens, closes in (MORNING, AFTERNOON):
                    period_start = datetime.combine(day, opens, LOCAL_TZ)
                    period_end = datetime.combine(day, closes, LOCAL_TZ)
                    begin = max(period_start, local)
                    if begin >= period_end:
                        continue
                    if begin + remaining <= period_end:
                        return (begin + remaining).astimezone(UTC)
                    remaining -= period_end - begin
            day += timedelta(days=1)
        raise ValueError("no working hours within ten years")

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when end is before start."""
        if end < start:
            return -self.working_days_between(end, start)
        count, current = 0, start
        while current < end:
            current += timedelta(days=1)
            if self.is_working_day(current):
                count += 1
        return count
