"""Timer expressions of diagrams, turned into absolute UTC due times with a calendar the caller passes in.

Accepted in `bpmn:timeDuration` / `bpmn:timeDate` (and `camunda:dueDate` of human tasks):
  workdays(2)            2 working days: ends at the close of the 2nd working day after today
  workdays(0.5)          half a working day: midday of the next working day
  workhours(4)           4 working hours counted from now (nights, lunch and days off do not count)
  PT4H, P3D, "PT4H"      ISO 8601 durations on the wall clock, quoted or not
  2026-01-02T08:00:00    ISO 8601 date-time (no offset = Asia/Ho_Chi_Minh), quoted or not
  workdays(so_ngay)      the argument may name a numeric instance variable, read when the timer starts
  value(han_xu_ly)       the value of a (restricted) Python expression on the instance's data, itself one of
                         the forms above; JUEL `${x}` and FEEL `=x` timers are translated into this form
  R3/PT1H, R/P1D         cycles (`bpmn:timeCycle`): n repetitions (none = for ever) of an ISO duration, the
  R2/2026-01-02T08:00/P1D  first one interval from now or at the given date-time; due() is the first occurrence
Anything else is refused at deploy with the element id. The engine knows no holidays: it asks the
`TimerCalendar` it is given (app.calendar's WorkingCalendar is one).
"""

import ast
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_WORKDAYS = 3_660
MAX_WORKHOURS = MAX_WORKDAYS * 8
MAX_DURATION = timedelta(days=3_660)
# A shorter cycle would keep a worker busy with one instance; nothing in a one-stop procedure repeats that often.
MIN_CYCLE_INTERVAL = timedelta(minutes=1)
MAX_CYCLE_REPETITIONS = 10_000

_VALUE = re.compile(r"value\((?P<expr>.+)\)", re.S)
_CALL = re.compile(r"(?P<fn>workdays|workhours)\(\s*(?P<arg>[^()]*?)\s*\)")
_NUMBER = re.compile(r"\d+(\.\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DURATION = re.compile(r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")
_CYCLE = re.compile(r"R(?P<n>\d*)/(?:(?P<start>[^/]+)/)?(?P<interval>[^/]+)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?")


class TimerCalendar(Protocol):
    def deadline(self, start: datetime, working_days: float) -> datetime: ...

    def add_working_hours(self, start: datetime, hours: float) -> datetime: ...


class WallClock:
    """For callers without a calendar: every day and every hour counts."""

    def deadline(self, start: datetime, working_days: float) -> datetime:
        return start + timedelta(days=working_days)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        return start + timedelta(hours=hours)


class InvalidTimer(ValueError):
    """The text is not a duration, a date-time or a workdays()/workhours() call (message in Vietnamese)."""


@dataclass(frozen=True)
class Cycle:
    repetitions: int | None  # None: for ever
    start: str | None  # ISO date-time of the first occurrence; None: one interval after the timer starts
    interval: str  # ISO 8601 duration, on the wall clock

    def first(self, now: datetime) -> datetime:
        return _date(self.start) if self.start else self.after(now)

    def after(self, occurrence: datetime) -> datetime:
        """The occurrence following `occurrence` (months and years counted on the calendar)."""
        parsed = TimerEventDefinition.parse_iso_duration(self.interval)
        return occurrence + TimerEventDefinition.get_timedelta_from_start(parsed, occurrence)


@dataclass(frozen=True)
class TimerExpression:
    kind: str  # workdays | workhours | duration | date | cycle | expression
    value: str  # the number, variable name, ISO duration or ISO date-time

    def due(self, now: datetime, calendar: TimerCalendar, data: dict[str, Any] | None = None) -> datetime:
        if self.kind == "expression":
            raise InvalidTimer("biểu thức value(...) phải được tính trên dữ liệu hồ sơ trước")
        if self.kind in ("workdays", "workhours"):
            amount = _amount(self, data or {})
            if self.kind == "workdays":
                return calendar.deadline(now, amount)
            return calendar.add_working_hours(now, amount)
        if self.kind == "duration":
            delta = TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(self.value),
                                                                  now)
            return now + delta
        if self.kind == "cycle":
            return self.cycle().first(now)
        return _date(self.value)

    def cycle(self) -> Cycle:
        match = _CYCLE.fullmatch(self.value)
        if self.kind != "cycle" or match is None:
            raise InvalidTimer(f"'{self.value[:40]}' không phải chu kỳ lặp (ví dụ R3/PT1H)")
        return Cycle(int(match["n"]) if match["n"] else None, match["start"], match["interval"])


def _date(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_TZ)
    return value.astimezone(UTC)


def parse(text: str | None) -> TimerExpression:
    """Read a timer expression, or raise InvalidTimer saying what is accepted."""
    raw = (text or "").strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        raw = raw[1:-1].strip()
    if not raw:
        raise InvalidTimer("biểu thức thời gian đang trống")
    value = _VALUE.fullmatch(raw)
    if value:
        expression = value["expr"].strip()
        try:
            ast.parse(expression, mode="eval")
        except SyntaxError as exc:
            raise InvalidTimer(f"value() cần một biểu thức Python hợp lệ, không phải '{expression[:40]}'") from exc
        return TimerExpression("expression", expression)
    cycle = _CYCLE.fullmatch(raw.upper())
    if cycle:
        return _checked_cycle(raw.upper(), cycle)
    call = _CALL.fullmatch(raw)
    if call:
        fn, arg = call["fn"], call["arg"]
        if _NUMBER.fullmatch(arg):
            _check_amount(fn, float(arg))
        elif not _NAME.fullmatch(arg):
            raise InvalidTimer(f"{fn}() cần một số dương hoặc tên biến, không phải '{arg[:40]}'")
        return TimerExpression(fn, arg)
    if _DURATION.fullmatch(raw.upper()):
        try:
            parsed = TimerEventDefinition.parse_iso_duration(raw.upper())
            delta = TimerEventDefinition.get_timedelta_from_start(dict(parsed), datetime(2026, 1, 1, tzinfo=UTC))
        except Exception as exc:  # SpiffWorkflow raises bare Exception('Invalid duration')
            raise InvalidTimer(f"'{raw[:40]}' không phải khoảng thời gian ISO 8601") from exc
        if delta > MAX_DURATION:
            raise InvalidTimer(f"'{raw[:40]}' dài quá 10 năm")
        return TimerExpression("duration", raw.upper())
    if _DATE.fullmatch(raw):
        try:
            datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidTimer(f"'{raw[:40]}' không phải ngày giờ có thật") from exc
        return TimerExpression("date", raw)
    raise InvalidTimer(f"'{raw[:60]}' không phải workdays(n), workhours(n), khoảng thời gian ISO 8601 (ví dụ PT4H, "
                       "P3D), ngày giờ ISO 8601 (ví dụ 2026-01-02T08:00:00) hay chu kỳ lặp (ví dụ R3/PT1H)")


def _checked_cycle(raw: str, match: re.Match[str]) -> TimerExpression:
    if match["n"] and not 0 < int(match["n"]) <= MAX_CYCLE_REPETITIONS:
        raise InvalidTimer(f"chu kỳ '{raw[:40]}' cần số lần lặp từ 1 đến {MAX_CYCLE_REPETITIONS}")
    if _kind_or_none(match["interval"]) != "duration":
        raise InvalidTimer(f"chu kỳ '{raw[:40]}' cần khoảng lặp ISO 8601 (ví dụ PT1H, P1D) sau dấu '/'")
    if match["start"] and _kind_or_none(match["start"]) != "date":
        raise InvalidTimer(f"chu kỳ '{raw[:40]}' cần ngày giờ ISO 8601 của lần đầu, ví dụ R3/2026-01-02T08:00/P1D")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    step = TimerExpression("cycle", raw).cycle().after(start) - start
    if step < MIN_CYCLE_INTERVAL:
        raise InvalidTimer(f"chu kỳ '{raw[:40]}' lặp dày hơn mỗi phút một lần")
    return TimerExpression("cycle", raw)


def _kind_or_none(text: str) -> str | None:
    try:
        return parse(text).kind
    except InvalidTimer:
        return None


def _check_amount(fn: str, amount: float) -> None:
    limit = MAX_WORKDAYS if fn == "workdays" else MAX_WORKHOURS
    if not 0 < amount <= limit:
        raise InvalidTimer(f"{fn}() cần số lớn hơn 0 và không quá {limit}")


def _amount(expression: TimerExpression, data: dict[str, Any]) -> float:
    if _NUMBER.fullmatch(expression.value):
        return float(expression.value)
    value = data.get(expression.value)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidTimer(f"biến '{expression.value}' của {expression.kind}() không có hoặc không phải số")
    try:
        amount = float(value)
    except ValueError as exc:
        raise InvalidTimer(f"biến '{expression.value}' của {expression.kind}() không phải số") from exc
    _check_amount(expression.kind, amount)
    return amount
