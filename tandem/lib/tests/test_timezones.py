from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from tandem.lib.timezones import at_local, daily, day_bounds, exists, local_date

NY = "America/New_York"


def test_a_daily_0800_dose_stays_at_0800_local_across_spring_forward():
    instants = list(daily(date(2026, 3, 7), 3, time(8, 0), NY))
    assert [i.hour for i in instants] == [13, 12, 12]  # EST (UTC-5), then EDT (UTC-4)
    assert all(i.astimezone(timezone.get_default_timezone()).tzinfo for i in instants)
    assert [i.astimezone(ZoneInfo(NY)).time() for i in instants] == [time(8, 0)] * 3


def test_a_daily_0800_dose_stays_at_0800_local_across_fall_back():
    instants = list(daily(date(2026, 10, 31), 3, time(8, 0), NY))
    assert [i.hour for i in instants] == [12, 13, 13]
    assert instants[1] - instants[0] == timedelta(hours=25)


def test_a_time_skipped_by_spring_forward_moves_on_by_the_gap():
    assert not exists(datetime(2026, 3, 8, 2, 30, tzinfo=ZoneInfo(NY)))
    instant = at_local(date(2026, 3, 8), time(2, 30), NY)
    assert instant == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT


def test_a_time_repeated_at_fall_back_happens_once_the_first_time():
    instant = at_local(date(2026, 11, 1), time(1, 30), NY)
    assert instant == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT, not 01:30 EST


def test_local_days_are_23_and_25_hours_long_at_the_changes():
    start, end = day_bounds(date(2026, 3, 8), NY)
    assert end - start == timedelta(hours=23)
    start, end = day_bounds(date(2026, 11, 1), NY)
    assert end - start == timedelta(hours=25)


def test_southern_hemisphere_and_half_hour_zones():
    assert day_bounds(date(2026, 4, 5), "Australia/Adelaide")[1] - day_bounds(
        date(2026, 4, 5), "Australia/Adelaide"
    )[0] == timedelta(hours=25)
    assert at_local(date(2026, 6, 1), time(9, 0), "Asia/Kolkata") == datetime(2026, 6, 1, 3, 30, tzinfo=UTC)


def test_the_patients_date_is_not_the_servers_date():
    with time_machine.travel(datetime(2026, 7, 1, 3, 0, tzinfo=UTC)):
        assert local_date(timezone.now(), "America/Los_Angeles") == date(2026, 6, 30)
        assert local_date(timezone.now(), "Asia/Tokyo") == date(2026, 7, 1)


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError):
        local_date(datetime(2026, 1, 1, 12, 0), NY)  # noqa: DTZ001


@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    wall=st.times(),
    tz=st.sampled_from([NY, "Europe/London", "Australia/Lord_Howe", "America/Santiago", "Asia/Tokyo"]),
)
def test_every_local_time_maps_to_an_instant_on_or_just_after_it(day, wall, tz):
    instant = at_local(day, wall, tz)
    back = instant.astimezone(ZoneInfo(tz))
    wanted = datetime.combine(day, wall)
    # Either the exact wall time, or moved on by at most the size of a DST gap (up to 1 hour).
    assert timedelta(0) <= back.replace(tzinfo=None) - wanted <= timedelta(hours=1)
