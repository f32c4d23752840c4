"""Schedule evaluation: weekly hours, overnight ranges, holidays (dated, ranged, recurring), manual modes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from centrex.domain.schedule import evaluate, next_change, parse_hhmm, validate_weekly

OFFICE = [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}]
NY = "America/New_York"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def state(when: str, **kw: object) -> str:
    args = {"timezone": NY, "weekly": OFFICE, "holidays": [], **kw}
    return evaluate(at(when), **args).state  # type: ignore[arg-type]


def test_weekly_hours_in_the_schedule_time_zone() -> None:
    assert state("2026-11-23T09:00:00-05:00") == "open"  # Monday 09:00 New York
    assert state("2026-11-23T16:59:00-05:00") == "open"
    assert state("2026-11-23T17:00:00-05:00") == "closed"
    assert state("2026-11-22T10:00:00-05:00") == "closed"  # Sunday
    assert state("2026-11-23T14:30:00+00:00") == "open"  # 09:30 in New York


def test_overnight_range_and_end_of_day() -> None:
    night = [{"days": ["fri"], "start": "22:00", "end": "06:00"}]
    assert state("2026-11-27T23:00:00-05:00", weekly=night) == "open"  # Friday night
    assert state("2026-11-28T05:59:00-05:00", weekly=night) == "open"  # Saturday morning, Friday's range
    assert state("2026-11-28T06:00:00-05:00", weekly=night) == "closed"
    late = [{"days": ["mon"], "start": "20:00", "end": "24:00"}]
    assert state("2026-11-23T23:59:00-05:00", weekly=late) == "open"


def test_holidays_win_and_recur() -> None:
    hols = [
        {"name": "Christmas", "date": "2020-12-25", "recurring": True},
        {"name": "Shutdown", "date": "2026-08-03", "end_date": "2026-08-07"},
        {"name": "New year week", "date": "2025-12-31", "end_date": "2026-01-02", "recurring": True},
    ]
    ev = evaluate(at("2026-12-25T10:00:00-05:00"), timezone=NY, weekly=OFFICE, holidays=hols)
    assert ev.state == "holiday" and "Christmas" in ev.reason
    assert state("2026-08-05T10:00:00-04:00", holidays=hols) == "holiday"
    assert state("2026-08-10T10:00:00-04:00", holidays=hols) == "open"
    assert state("2027-01-01T10:00:00-05:00", holidays=hols) == "holiday"  # range across new year, next year


def test_manual_mode_and_expiry() -> None:
    until = at("2026-11-23T12:00:00-05:00")
    assert state("2026-11-23T10:00:00-05:00", mode="closed", mode_until=until) == "closed"
    assert state("2026-11-23T12:30:00-05:00", mode="closed", mode_until=until) == "open"
    assert state("2026-11-22T10:00:00-05:00", mode="open") == "open"


def test_next_change() -> None:
    change = next_change(at("2026-11-23T10:00:00-05:00"), timezone=NY, weekly=OFFICE, holidays=[])
    assert change == at("2026-11-23T17:00:00-05:00")


def test_validation() -> None:
    assert parse_hhmm("24:00") == 1440
    for bad in ("25:00", "9:00", "12:60", ""):
        with pytest.raises(ValueError):
            parse_hhmm(bad)
    with pytest.raises(ValueError):
        validate_weekly([{"days": ["funday"], "start": "09:00", "end": "17:00"}])
    with pytest.raises(ValueError):
        validate_weekly([{"days": ["mon"], "start": "09:00", "end": "09:00"}])
