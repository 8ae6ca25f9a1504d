"""Local wall-clock times in a patient's IANA time zone, safe across daylight-saving changes.

Schedules are kept as wall-clock times ("08:00 every day") and turned into UTC instants here,
per day, so that 08:00 stays 08:00 for the patient when the clocks change.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def exists(local: datetime) -> bool:
    """False for a wall-clock time skipped by a spring-forward change (e.g. 02:30 in New York)."""
    round_trip = local.astimezone(UTC).astimezone(local.tzinfo)
    return round_trip.replace(tzinfo=None) == local.replace(tzinfo=None)


def at_local(day: date, wall: time, tz: ZoneInfo | str) -> datetime:
    """The UTC instant at which `wall` o'clock happens on `day` in `tz`.

    - A time skipped by spring-forward is moved on by the length of the gap, as calendars do
      (02:30 on the New York spring-forward day happens at 03:30 EDT), so it is never lost.
    - A time that happens twice at fall-back is taken the first time (fold=0), so a reminder
      is sent once, not twice.
    """
    tz = ZoneInfo(tz) if isinstance(tz, str) else tz
    return datetime.combine(day, wall, tzinfo=tz).replace(fold=0).astimezone(UTC)


def day_bounds(day: date, tz: ZoneInfo | str) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day as UTC instants (23 or 25 hours long at DST changes)."""
    tz = ZoneInfo(tz) if isinstance(tz, str) else tz
    start = datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    return start, end


def local_date(instant: datetime, tz: ZoneInfo | str) -> date:
    """The patient's calendar date at an aware instant."""
    tz = ZoneInfo(tz) if isinstance(tz, str) else tz
    if instant.tzinfo is None:
        raise ValueError("an aware datetime is required")
    return instant.astimezone(tz).date()


def daily(start: date, days: int, wall: time, tz: ZoneInfo | str) -> Iterator[datetime]:
    """The UTC instants of `wall` o'clock on each of `days` local days from `start`."""
    for offset in range(days):
        yield at_local(start + timedelta(days=offset), wall, tz)
