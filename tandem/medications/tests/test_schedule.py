from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from tandem.medications.schedule import VersionSpan, due_doses, parse_times


def span(
    effective: datetime,
    times=("08:00",),
    *,
    active=True,
    scheduled=True,
    every=1,
    version=1,
    anchor=None,
    regimen=1,
):
    return VersionSpan(
        regimen_id=regimen,
        version_id=version,
        effective_at=effective,
        active=active,
        scheduled=scheduled,
        times=parse_times(times),
        every_days=every,
        anchor=anchor or effective.date(),
    )


@pytest.mark.parametrize(
    ("zone", "change_day", "utc_hours"),
    [
        ("America/New_York", date(2026, 3, 8), [13, 12, 12]),  # spring forward: EST → EDT
        ("Europe/London", date(2026, 3, 29), [8, 7, 7]),  # GMT → BST
        ("Australia/Sydney", date(2026, 4, 5), [21, 22, 22]),  # AEDT → AEST (autumn in the south)
    ],
)
def test_a_0800_dose_stays_at_0800_local_across_dst_in_three_zones(zone, change_day, utc_hours):
    tz = ZoneInfo(zone)
    start = datetime(2026, 1, 1, 0, 0, tzinfo=tz)
    first = date.fromordinal(change_day.toordinal() - 1)
    last = date.fromordinal(change_day.toordinal() + 1)
    doses = due_doses([span(start)], tz, first, last)
    assert [d.due_at.astimezone(tz).time() for d in doses] == [time(8, 0)] * 3
    assert [d.due_at.astimezone(UTC).hour for d in doses] == utc_hours


def test_a_change_applies_from_its_moment_on():
    tz = ZoneInfo("America/Chicago")
    v1 = span(datetime(2026, 5, 1, 0, 0, tzinfo=tz), ("08:00", "20:00"), version=1)
    # Changed at noon on 10 May to once a day at 09:00: the 08:00 dose that day was under v1.
    v2 = span(datetime(2026, 5, 10, 12, 0, tzinfo=tz), ("09:00",), version=2, anchor=date(2026, 5, 1))
    doses = due_doses([v1, v2], tz, date(2026, 5, 10), date(2026, 5, 11))
    local = [(d.due_at.astimezone(tz).strftime("%d %H:%M"), d.version_id) for d in doses]
    assert local == [("10 08:00", 1), ("11 09:00", 2)]


def test_a_hold_stops_doses_and_a_resume_restarts_them():
    tz = ZoneInfo("America/New_York")
    start = datetime(2026, 6, 1, 0, 0, tzinfo=tz)
    hold = span(datetime(2026, 6, 3, 0, 0, tzinfo=tz), active=False, version=2, anchor=date(2026, 6, 1))
    resume = span(datetime(2026, 6, 5, 0, 0, tzinfo=tz), version=3, anchor=date(2026, 6, 1))
    days = [
        d.due_at.astimezone(tz).day
        for d in due_doses([span(start), hold, resume], tz, date(2026, 6, 1), date(2026, 6, 6))
    ]
    assert days == [1, 2, 5, 6]


def test_every_other_day_counts_from_the_start():
    tz = ZoneInfo("America/New_York")
    start = datetime(2026, 6, 1, 7, 0, tzinfo=tz)
    days = [
        d.due_at.astimezone(tz).day
        for d in due_doses([span(start, every=2)], tz, date(2026, 6, 1), date(2026, 6, 7))
    ]
    assert days == [1, 3, 5, 7]


def test_as_needed_regimens_have_no_scheduled_doses():
    tz = ZoneInfo("America/New_York")
    assert (
        due_doses(
            [span(datetime(2026, 6, 1, tzinfo=tz), scheduled=False)], tz, date(2026, 6, 1), date(2026, 6, 3)
        )
        == []
    )


def test_a_dose_time_before_the_start_on_the_first_day_is_not_due():
    tz = ZoneInfo("America/New_York")
    start = datetime(2026, 6, 1, 12, 0, tzinfo=tz)  # started at noon: the 08:00 dose is not owed
    doses = due_doses([span(start, ("08:00", "20:00"))], tz, date(2026, 6, 1), date(2026, 6, 1))
    assert [d.due_at.astimezone(tz).hour for d in doses] == [20]


@pytest.mark.parametrize("bad", ["8", "25:00", "08:61", "noon", ""])
def test_bad_times_are_named(bad):
    with pytest.raises(ValueError, match="not a time of day"):
        parse_times([bad])
