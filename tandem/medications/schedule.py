"""When doses are due: computed from the regimen version in force at each moment, in the
patient's time zone (DST-safe through tandem.lib.timezones)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tandem.lib.timezones import at_local, local_date


@dataclass(frozen=True)
class VersionSpan:
    """The part of a regimen version that decides the schedule."""

    regimen_id: int
    version_id: int
    effective_at: datetime
    active: bool
    scheduled: bool  # False for as-needed
    times: tuple[time, ...]
    every_days: int
    anchor: date  # the local day the regimen started; "every other day" counts from it


@dataclass(frozen=True)
class DueDose:
    regimen_id: int
    version_id: int
    due_at: datetime


def parse_times(values: Iterable[str]) -> tuple[time, ...]:
    """ "08:00" strings to sorted times; ValueError names the bad one."""
    parsed = []
    for value in values:
        try:
            hours, minutes = value.split(":")
            parsed.append(time(int(hours), int(minutes)))
        except (ValueError, AttributeError):
            raise ValueError(f"{value!r} is not a time of day like 08:00") from None
    if len(set(parsed)) != len(parsed):
        raise ValueError("the same time is listed twice")
    return tuple(sorted(parsed))


def due_doses(
    spans: Sequence[VersionSpan], tz: ZoneInfo | str, first_day: date, last_day: date
) -> list[DueDose]:
    """Every scheduled dose from `first_day` to `last_day` (local days, inclusive), each taken
    from the version in force at its due time. `spans` are one or more regimens' versions."""
    tz = ZoneInfo(tz) if isinstance(tz, str) else tz
    by_regimen: dict[int, list[VersionSpan]] = {}
    for span in spans:
        by_regimen.setdefault(span.regimen_id, []).append(span)
    doses: list[DueDose] = []
    for versions in by_regimen.values():
        versions.sort(key=lambda v: v.effective_at)
        start_day = max(first_day, local_date(versions[0].effective_at, tz))
        day = start_day
        while day <= last_day:
            candidates = {t for v in versions if v.scheduled for t in v.times}
            for wall in sorted(candidates):
                due = at_local(day, wall, tz)
                version = _in_force(versions, due)
                if (
                    version is not None
                    and version.active
                    and version.scheduled
                    and wall in version.times
                    and (day - version.anchor).days % max(1, version.every_days) == 0
                ):
                    doses.append(DueDose(version.regimen_id, version.version_id, due))
            day += timedelta(days=1)
    doses.sort(key=lambda d: (d.due_at, d.regimen_id))
    return doses


def _in_force(versions: Sequence[VersionSpan], moment: datetime) -> VersionSpan | None:
    current = None
    for version in versions:
        if version.effective_at <= moment:
            current = version
        else:
            break
    return current
