from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tandem.therapy import rules
from tandem.therapy.rules import Attendance, attendance

# A weekly 18:00 series across each zone's clock change: the local time stays 18:00 while the
# UTC instant moves by an hour.
DST = [
    ("America/New_York", date(2026, 3, 5), "2026-03-05T23:00", "2026-03-12T22:00"),  # EST → EDT on 8 March
    ("America/New_York", date(2026, 10, 29), "2026-10-29T22:00", "2026-11-05T23:00"),  # EDT → EST on 1 Nov
    ("Europe/London", date(2026, 3, 26), "2026-03-26T18:00", "2026-04-02T17:00"),  # GMT → BST on 29 March
    ("Europe/London", date(2026, 10, 22), "2026-10-22T17:00", "2026-10-29T18:00"),  # BST → GMT on 25 Oct
    ("Australia/Sydney", date(2026, 4, 2), "2026-04-02T07:00", "2026-04-09T08:00"),  # AEDT → AEST on 5 April
    ("Australia/Sydney", date(2026, 10, 1), "2026-10-01T08:00", "2026-10-08T07:00"),  # AEST → AEDT on 4 Oct
]


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize(("zone", "first", "before", "after"), DST)
def test_a_weekly_series_keeps_its_local_time_across_a_clock_change(zone, first, before, after):
    starts = rules.occurrences(first, time(18, 0), zone, count=2)
    assert [utc(s) for s in starts] == [before, after]
    assert {s.astimezone(ZoneInfo(zone)).time() for s in starts} == {time(18, 0)}


def test_a_series_stops_at_its_count():
    starts = rules.occurrences(date(2026, 6, 1), time(9, 0), "Europe/London", interval_weeks=2, count=3)
    assert [s.astimezone(ZoneInfo("Europe/London")).date() for s in starts] == [
        date(2026, 6, 1),
        date(2026, 6, 15),
        date(2026, 6, 29),
    ]


def test_a_series_includes_its_until_day_and_nothing_after():
    first = date(2026, 6, 1)
    on = rules.occurrences(first, time(9, 0), "UTC", until=date(2026, 6, 15))
    before = rules.occurrences(first, time(9, 0), "UTC", until=date(2026, 6, 14))
    assert len(on) == 3 and len(before) == 2


def test_the_first_of_count_and_until_ends_the_series():
    starts = rules.occurrences(date(2026, 6, 1), time(9, 0), "UTC", count=10, until=date(2026, 6, 8))
    assert len(starts) == 2


def test_a_series_without_an_end_is_refused():
    with pytest.raises(ValueError):
        rules.occurrences(date(2026, 6, 1), time(9, 0), "UTC")
    with pytest.raises(ValueError):
        rules.occurrences(date(2026, 6, 1), time(9, 0), "UTC", count=rules.MAX_OCCURRENCES + 1)
    with pytest.raises(ValueError):
        rules.occurrences(date(2026, 6, 1), time(9, 0), "UTC", until=date(2026, 5, 31))


def test_an_open_ended_until_is_capped():
    starts = rules.occurrences(date(2026, 1, 1), time(9, 0), "UTC", until=date(2030, 1, 1))
    assert len(starts) == rules.MAX_OCCURRENCES


def test_a_time_skipped_by_spring_forward_happens_after_the_gap():
    [start] = rules.occurrences(date(2026, 3, 8), time(2, 30), "America/New_York", count=1)
    assert start.astimezone(ZoneInfo("America/New_York")).time() == time(3, 30)


@pytest.mark.parametrize(
    ("before_start", "expected"),
    [
        (timedelta(hours=24), rules.CANCELLED),
        (timedelta(hours=24) - timedelta(seconds=1), rules.LATE_CANCELLED),
        (timedelta(days=3), rules.CANCELLED),
        (timedelta(minutes=5), rules.LATE_CANCELLED),
    ],
)
def test_a_cancellation_within_24_hours_is_late(before_start, expected):
    starts_at = datetime(2026, 6, 10, 14, 0, tzinfo=UTC)
    assert rules.cancellation_status(starts_at, starts_at - before_start) == expected


def test_attendance_counts_attended_no_shows_and_late_cancellations_only():
    summary = attendance(
        [
            ("attended", True),
            ("attended", True),
            ("attended", True),
            ("no_show", True),
            ("late_cancelled", True),
            ("cancelled", True),
            ("cancelled", False),
            ("scheduled", True),  # not recorded yet
            ("scheduled", False),  # to come
        ]
    )
    assert (summary.attended, summary.no_show, summary.late_cancelled, summary.cancelled) == (3, 1, 1, 2)
    assert (summary.unrecorded, summary.upcoming, summary.countable) == (1, 1, 5)
    assert summary.rate == pytest.approx(0.6)
    assert summary.percent == 60


def test_attendance_without_countable_sessions_has_no_rate():
    summary = attendance([("cancelled", True), ("scheduled", False)])
    assert summary.rate is None and summary.percent is None


def test_attendances_add_up():
    a = attendance([("attended", True)])
    b = attendance([("no_show", True), ("scheduled", False)])
    total = a + b
    assert (total.attended, total.no_show, total.upcoming, total.rate) == (1, 1, 1, 0.5)


@pytest.mark.parametrize(
    ("attended", "missed", "alert"),
    [
        (0, 3, False),  # 0 % but only 3 count
        (2, 2, True),  # 50 % of 4
        (3, 1, False),  # exactly 75 %: not below
        (5, 2, True),  # 71 % of 7
        (6, 2, False),  # 75 % of 8
        (8, 3, True),  # 72.7 % of 11
    ],
)
def test_the_attendance_signal_fires_below_75_percent_after_4_sessions(attended, missed, alert):
    summary = Attendance(attended=attended, no_show=missed)
    assert rules.attendance_below_threshold(summary) is alert


@pytest.mark.parametrize(
    ("statuses", "run"),
    [
        ([], 0),
        (["no_show"], 1),
        (["attended", "no_show", "no_show"], 2),
        (["no_show", "cancelled", "no_show"], 2),  # a timely cancellation does not end a run
        (["no_show", "scheduled", "no_show"], 2),  # nor does an unrecorded session
        (["no_show", "late_cancelled", "no_show"], 1),  # a late cancellation ends it
        (["no_show", "attended", "no_show"], 1),
        (["no_show", "no_show", "attended"], 0),
    ],
)
def test_no_shows_in_a_row(statuses, run):
    assert rules.no_shows_in_a_row(statuses) == run
