"""Time-condition evaluation (pure): is a schedule open, closed or on holiday at a given instant?

A schedule has weekly ranges in its time zone, holidays, and a manual mode (office mode):

    weekly:   [{"days": ["mon","tue","wed","thu","fri"], "start": "09:00", "end": "17:00"}, …]
              (``end`` "24:00" is the end of the day; ``end`` before ``start`` runs past midnight)
    holidays: [{"name": "Christmas", "date": "2026-12-25", "recurring": true},
               {"name": "Shutdown", "date": "2026-08-03", "end_date": "2026-08-07"}]
    mode:     "auto" | "open" | "closed" | "holiday", optionally until ``mode_until`` (then back to auto)

Holidays win over weekly hours; a manual mode wins over both while it lasts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

State = Literal["open", "closed", "holiday"]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")


@dataclass(frozen=True)
class Evaluation:
    state: State
    reason: str
    local_time: datetime


def parse_hhmm(value: str) -> int:
    """Minutes since midnight for ``HH:MM`` (``24:00`` → 1440); raises ValueError."""
    if not _HHMM.match(value):
        raise ValueError(f"{value!r} is not a time of day HH:MM")
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def validate_weekly(ranges: list[dict[str, Any]]) -> None:
    for i, rng in enumerate(ranges):
        days = rng.get("days") or []
        if not days or any(d not in DAYS for d in days):
            raise ValueError(f"weekly.{i}.days: use {', '.join(DAYS)}")
        start, end = parse_hhmm(rng.get("start", "")), parse_hhmm(rng.get("end", ""))
        if start == end or start == 1440:
            raise ValueError(f"weekly.{i}: start and end must differ")
        if end == 0:
            raise ValueError(f"weekly.{i}: use 24:00 for the end of the day")


def _in_weekly(ranges: list[dict[str, Any]], local: datetime) -> str | None:
    minute = local.hour * 60 + local.minute
    today, yesterday = DAYS[local.weekday()], DAYS[(local.weekday() - 1) % 7]
    for rng in ranges:
        start, end = parse_hhmm(rng["start"]), parse_hhmm(rng["end"])
        days = rng["days"]
        if start < end:
            if today in days and start <= minute < end:
                return f"{today} {rng['start']}–{rng['end']}"
        else:  # runs past midnight
            if today in days and minute >= start:
                return f"{today} {rng['start']}–{rng['end']}"
            if yesterday in days and minute < end:
                return f"{yesterday} {rng['start']}–{rng['end']} (past midnight)"
    return None


def _holiday(holidays: list[dict[str, Any]], day: date) -> str | None:
    for hol in holidays:
        first = date.fromisoformat(hol["date"])
        last = date.fromisoformat(hol["end_date"]) if hol.get("end_date") else first
        if hol.get("recurring"):
            span = (last - first).days
            try:
                this_year = first.replace(year=day.year)
            except ValueError:  # 29 February in a common year
                this_year = date(day.year, 3, 1)
            for candidate in (this_year, this_year.replace(year=day.year - 1) if this_year.month == 12 else None):
                if candidate is not None and candidate <= day <= candidate + timedelta(days=span):
                    return str(hol.get("name") or "holiday")
        elif first <= day <= last:
            return str(hol.get("name") or "holiday")
    return None


def evaluate(
    at: datetime,
    *,
    timezone: str,
    weekly: list[dict[str, Any]],
    holidays: list[dict[str, Any]],
    mode: str = "auto",
    mode_until: datetime | None = None,
) -> Evaluation:
    """The state of the schedule at the aware instant ``at``."""
    local = at.astimezone(ZoneInfo(timezone))
    if mode != "auto" and (mode_until is None or at < mode_until):
        until = f" until {mode_until.astimezone(ZoneInfo(timezone)):%Y-%m-%d %H:%M}" if mode_until else ""
        return Evaluation(mode, f"manual override: {mode}{until}", local)  # type: ignore[arg-type]
    name = _holiday(holidays, local.date())
    if name:
        return Evaluation("holiday", f"holiday: {name}", local)
    hit = _in_weekly(weekly, local)
    if hit:
        return Evaluation("open", f"open hours: {hit}", local)
    return Evaluation("closed", f"outside open hours ({DAYS[local.weekday()]} {local:%H:%M})", local)


def next_change(
    at: datetime, *, timezone: str, weekly: list[dict[str, Any]], holidays: list[dict[str, Any]], horizon_days: int = 8
) -> datetime | None:
    """When the automatic state next changes (minute resolution), within ``horizon_days``; None if never."""
    zone = ZoneInfo(timezone)
    current = evaluate(at, timezone=timezone, weekly=weekly, holidays=holidays).state
    local = at.astimezone(zone).replace(second=0, microsecond=0)
    # Candidate instants: every range boundary and every midnight in the horizon.
    marks: set[datetime] = set()
    for offset in range(horizon_days + 1):
        day = (local + timedelta(days=offset)).date()
        marks.add(datetime.combine(day, time(0, 0), zone))
        for rng in weekly:
            for key in ("start", "end"):
                minutes = parse_hhmm(rng[key])
                marks.add(datetime.combine(day, time(0, 0), zone) + timedelta(minutes=minutes))
    for mark in sorted(m for m in marks if m > at):
        if evaluate(mark, timezone=timezone, weekly=weekly, holidays=holidays).state != current:
            return mark
    return None
