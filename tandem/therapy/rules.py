"""Pure rules of sessions and attendance (no database): recurrence, cancellation windows, the
attendance rate and the attendance signals. Product rules, not published clinical cut-offs: each
says so where it is defined, and the alerts cite them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tandem.lib.timezones import at_local

# A cancellation less than this before the start is a late cancellation: it counts against
# attendance like a no-show (the usual clinic policy; a product setting).
LATE_CANCEL_WINDOW = timedelta(hours=24)
# Signals (product rules, not from a published source: the alerts say so).
NO_SHOWS_IN_A_ROW = 2
ATTENDANCE_THRESHOLD = 0.75
ATTENDANCE_MIN_COUNTABLE = 4
MAX_OCCURRENCES = 104
MAX_SERIES_DAYS = 2 * 366

SOURCES = {
    "no_shows": (
        "Tandem attendance rule: two consecutive recorded sessions that were missed without "
        "notice (no-show). Missed sessions predict drop-out from psychotherapy and from "
        "collaborative care; reaching out after a second no-show is common practice (clinic policy, "
        "not a published cut-off)."
    ),
    "attendance": (
        "Tandem attendance rule: attended ÷ (attended + no-show + late-cancelled) below 75 % once "
        "at least 4 sessions count (clinic policy, not a published cut-off). Cancellations in "
        "good time do not count."
    ),
}

ATTENDED, NO_SHOW, LATE_CANCELLED, CANCELLED, SCHEDULED = (
    "attended",
    "no_show",
    "late_cancelled",
    "cancelled",
    "scheduled",
)
# The outcomes that count for attendance: what happened, or a cancellation without notice.
COUNTABLE = frozenset({ATTENDED, NO_SHOW, LATE_CANCELLED})


# --------------------------------------------------------------------------------------------
# Recurrence


def occurrences(
    first_day: date,
    wall: time,
    tz: ZoneInfo | str,
    *,
    interval_weeks: int = 1,
    count: int | None = None,
    until: date | None = None,
) -> list[datetime]:
    """The UTC instants of a series: `wall` o'clock (local, in `tz`) on `first_day` and every
    `interval_weeks` weeks after it, `count` times or up to and including `until` (whichever
    comes first; at least one of them must be given). The local time stays the same across
    daylight-saving changes; a time skipped by a spring-forward change happens after the gap,
    and one that happens twice is taken the first time (tandem.lib.timezones.at_local)."""
    if interval_weeks < 1:
        raise ValueError("interval_weeks must be at least 1")
    if count is None and until is None:
        raise ValueError("give a count or an until date")
    if count is not None and not 1 <= count <= MAX_OCCURRENCES:
        raise ValueError(f"count must be 1 to {MAX_OCCURRENCES}")
    if until is not None and until < first_day:
        raise ValueError("until is before the first session")
    result: list[datetime] = []
    day = first_day
    while len(result) < MAX_OCCURRENCES:
        if until is not None and day > until:
            break
        if count is not None and len(result) >= count:
            break
        result.append(at_local(day, wall, tz))
        day += timedelta(weeks=interval_weeks)
    return result


def cancellation_status(starts_at: datetime, now: datetime) -> str:
    """A cancellation by the patient: late when less than LATE_CANCEL_WINDOW before the start."""
    return LATE_CANCELLED if starts_at - now < LATE_CANCEL_WINDOW else CANCELLED


# --------------------------------------------------------------------------------------------
# Attendance


@dataclass(frozen=True)
class Attendance:
    """Counts of one patient's sessions (of one kind, or all) and the attendance rate.

    rate = attended ÷ (attended + no_show + late_cancelled): the sessions that took place or
    were missed without notice. Cancellations in good time, sessions still to come and past
    sessions whose outcome is not recorded yet do not count. None when nothing counts yet.
    """

    attended: int = 0
    no_show: int = 0
    late_cancelled: int = 0
    cancelled: int = 0
    upcoming: int = 0
    unrecorded: int = 0

    @property
    def countable(self) -> int:
        return self.attended + self.no_show + self.late_cancelled

    @property
    def rate(self) -> float | None:
        return self.attended / self.countable if self.countable else None

    @property
    def percent(self) -> int | None:
        rate = self.rate
        return None if rate is None else round(rate * 100)

    def __add__(self, other: Attendance) -> Attendance:
        return Attendance(
            self.attended + other.attended,
            self.no_show + other.no_show,
            self.late_cancelled + other.late_cancelled,
            self.cancelled + other.cancelled,
            self.upcoming + other.upcoming,
            self.unrecorded + other.unrecorded,
        )


def attendance(rows: Iterable[tuple[str, bool]]) -> Attendance:
    """Attendance of (status, in_the_past) pairs, one per session."""
    counts = {ATTENDED: 0, NO_SHOW: 0, LATE_CANCELLED: 0, CANCELLED: 0, "upcoming": 0, "unrecorded": 0}
    for status, past in rows:
        if status == SCHEDULED:
            counts["unrecorded" if past else "upcoming"] += 1
        elif status in counts:
            counts[status] += 1
    return Attendance(
        attended=counts[ATTENDED],
        no_show=counts[NO_SHOW],
        late_cancelled=counts[LATE_CANCELLED],
        cancelled=counts[CANCELLED],
        upcoming=counts["upcoming"],
        unrecorded=counts["unrecorded"],
    )


def attendance_below_threshold(summary: Attendance) -> bool:
    rate = summary.rate
    return summary.countable >= ATTENDANCE_MIN_COUNTABLE and rate is not None and rate < ATTENDANCE_THRESHOLD


def no_shows_in_a_row(statuses: Sequence[str]) -> int:
    """How many of the last recorded outcomes (oldest first) are no-shows in a row. Only the
    countable outcomes take part: a cancellation in good time and a session whose outcome is not
    recorded neither continue nor end a run; an attended or late-cancelled session ends it."""
    run = 0
    for status in statuses:
        if status not in COUNTABLE:
            continue
        run = run + 1 if status == NO_SHOW else 0
    return run
