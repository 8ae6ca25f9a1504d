"""Pure rules of skills practice: how many entries are expected to date, and when a diary card
raises an alert. No database here.

Completion rate = completed ÷ expected to date, over the assignment's periods in the patient's
local days (a day for "daily", seven days from the start for "n times a week" and "weekly",
start to the due date for "once"):
- a period that has ended counts in full: expected += its requirement, completed += the entries
  in it, at most the requirement (extra entries never make up for a missed period);
- the period in progress counts only what is already done (expected and completed both grow by
  min(entries, requirement)), so nobody is behind before a period is over;
- periods not yet started count nothing. Nothing is expected to date → no rate (None);
- "once": one entry, expected once the due date has passed; a late entry still completes it,
  and an assignment ended before its due date is never counted as missed.
A last week shortened by the end date requires ceil(n × days ÷ 7) entries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

FREQ_ONCE = "once"
FREQ_DAILY = "daily"
FREQ_TIMES_PER_WEEK = "times_per_week"
FREQ_WEEKLY = "weekly"


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    required: int


@dataclass(frozen=True)
class Completion:
    completed: int
    expected: int

    @property
    def rate(self) -> float | None:
        return self.completed / self.expected if self.expected else None

    @property
    def percent(self) -> int | None:
        rate = self.rate
        return None if rate is None else round(rate * 100)


def periods(
    frequency: str, times_per_week: int, start: date, end: date | None, stopped: date | None, today: date
) -> list[Period]:
    """The periods from the start up to the one containing `today`, none after the end or after
    the day the assignment was stopped."""
    last = min((d for d in (end, stopped) if d is not None), default=None)
    if frequency == FREQ_ONCE:
        return [Period(start, end or start, 1)] if start <= today else []
    stop = min(today, last) if last is not None else today
    if stop < start:
        return []
    if frequency == FREQ_DAILY:
        return [
            Period(start + timedelta(days=k), start + timedelta(days=k), 1)
            for k in range((stop - start).days + 1)
        ]
    n = 1 if frequency == FREQ_WEEKLY else times_per_week
    found = []
    first = start
    while first <= stop:
        full_last = first + timedelta(days=6)
        period_last = min(full_last, last) if last is not None else full_last
        days = (period_last - first).days + 1
        found.append(Period(first, period_last, n if days == 7 else math.ceil(n * days / 7)))
        first += timedelta(days=7)
    return found


def completion(
    frequency: str,
    times_per_week: int,
    start: date,
    end: date | None,
    stopped: date | None,
    today: date,
    entry_days: Mapping[date, int],
) -> Completion:
    """`entry_days`: the number of submitted entries on each local day. `stopped`: the day the
    assignment was ended early, if it was (a due date cut short by it is never missed)."""
    completed = expected = 0
    for period in periods(frequency, times_per_week, start, end, stopped, today):
        # An entry for a due date counts however late; other periods count their own days.
        upto = date.max if frequency == FREQ_ONCE else period.last
        done = sum(n for day, n in entry_days.items() if period.first <= day <= upto)
        got = min(done, period.required)
        over = period.last < today and (stopped is None or period.last <= stopped)
        completed += got
        expected += period.required if over else got
    return Completion(completed, expected)


# --- Diary-card safety -----------------------------------------------------------------------

URGE_ALERT_AT = 4
DIARY_RULE_ID = "practice.diary_card.urge"
DIARY_RULE_SOURCE = (
    "Tandem rule (configurable, not from a published cut-off): a DBT diary-card self-harm or "
    "suicide urge of 4 or 5 on Linehan's 0–5 urge scale, or either urge acted on, tells the care "
    "team at once. Diary card: M. M. Linehan, DBT Skills Training Handouts and Worksheets (2015)."
)
SAFETY_URGES = (("self_harm", "self-harm"), ("suicide", "suicide"))


def diary_findings(answers: Mapping[str, Any], alert_at: int = URGE_ALERT_AT) -> list[str]:
    """What on a diary card calls for an urgent alert, in words; empty when nothing does."""
    found = []
    for key, label in SAFETY_URGES:
        urge = answers.get(f"urge_{key}")
        if isinstance(urge, int) and urge >= alert_at:
            found.append(f"{label} urge {urge} of 5 (alert at {alert_at} or more)")
        if answers.get(f"acted_{key}") is True:
            found.append(f"acted on the {label} urge")
    return found
