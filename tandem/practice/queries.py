"""Reads shared by the practice pages: completion per assignment, doses per day from the dose
log, the week of diary cards."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Count

from tandem.lib.timezones import day_bounds, local_date
from tandem.medications.models import DoseLog, DoseStatus
from tandem.medications.queries import patient_due_doses
from tandem.patients.models import Patient
from tandem.practice import rules
from tandem.practice.answers import shown
from tandem.practice.models import Assignment, Entry, EntryStatus
from tandem.practice.templates_data import DIARY_CARD


def entry_days(assignment_ids: list[int]) -> dict[int, dict[date, int]]:
    """Submitted entries per assignment and local day (one query)."""
    found: dict[int, dict[date, int]] = defaultdict(dict)
    rows = (
        Entry.objects.filter(assignment_id__in=assignment_ids, status=EntryStatus.SUBMITTED)
        .values("assignment_id", "entry_date")
        .annotate(n=Count("id"))
    )
    for row in rows:
        found[row["assignment_id"]][row["entry_date"]] = row["n"]
    return found


def completion_of(assignment: Assignment, days: dict[date, int], today: date) -> rules.Completion:
    return rules.completion(
        assignment.frequency,
        assignment.times_per_week,
        assignment.start,
        assignment.end,
        assignment.ended_on,
        today,
        days,
    )


def with_completion(assignments: list[Assignment], today: date) -> list[dict[str, Any]]:
    days = entry_days([a.pk for a in assignments])
    return [
        {
            "assignment": a,
            "completion": completion_of(a, days.get(a.pk, {}), today),
            "count": sum(days.get(a.pk, {}).values()),
        }
        for a in assignments
    ]


@dataclass(frozen=True)
class DayDoses:
    due: int
    taken: int
    skipped: int

    @property
    def suggestion(self) -> str:
        """The diary card's "medication taken" answer the dose log points to ("" when unsure)."""
        if self.due == 0:
            return ""
        if self.taken >= self.due:
            return "as_prescribed"
        if self.taken:
            return "partly"
        return "no" if self.skipped >= self.due else ""

    @property
    def text(self) -> str:
        if self.due == 0:
            return "no scheduled doses"
        return f"{self.taken} of {self.due} taken" + (f", {self.skipped} skipped" if self.skipped else "")


def doses_by_day(patient: Patient, first: date, last: date) -> dict[date, DayDoses]:
    """Scheduled doses of each local day and what the dose log says of them (three queries)."""
    due = patient_due_doses(patient, first, last)
    if not due:
        return {}
    start, _ = day_bounds(first, patient.tz)
    _, end = day_bounds(last, patient.tz)
    logs = {
        (regimen_id, due_at): status
        for regimen_id, due_at, status in DoseLog.objects.filter(
            patient=patient, due_at__gte=start, due_at__lt=end
        ).values_list("regimen_id", "due_at", "status")
    }
    counts: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
    for dose in due:
        day = local_date(dose.due_at, patient.tz)
        counts[day][0] += 1
        status = logs.get((dose.regimen_id, dose.due_at))
        if status in (DoseStatus.TAKEN, DoseStatus.TAKEN_LATE):
            counts[day][1] += 1
        elif status == DoseStatus.SKIPPED:
            counts[day][2] += 1
    return {day: DayDoses(*c) for day, c in counts.items()}


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def diary_week(assignment: Assignment, monday: date) -> dict[str, Any]:
    """The week's diary cards as a grid: a row per item, a column per day (the newest card of a
    day when there are several), and the dose log's count for each day."""
    days = [monday + timedelta(days=k) for k in range(7)]
    cards: dict[date, Entry] = {}
    for entry in Entry.objects.filter(
        assignment=assignment, status=EntryStatus.SUBMITTED, entry_date__gte=days[0], entry_date__lte=days[-1]
    ).order_by("entry_date", "submitted_at", "pk"):
        cards[entry.entry_date] = entry
    rows = []
    for item in DIARY_CARD.summary_items:
        cells = []
        for day in days:
            card = cards.get(day)
            value = card.data.get(item.name) if card else None
            text = "" if card is None else shown(item, value)
            if item.kind == "rating" and value is not None:
                text = str(value)
            if item.kind == "choice" and value is not None:
                text = {
                    "as_prescribed": "Yes",
                    "partly": "Partly",
                    "no": "No",
                    "none_prescribed": "None",
                }.get(value, text)
            cells.append({"text": text, "high": _is_high(item.name, value)})
        rows.append({"label": item.short or item.label, "scale": item.scale, "cells": cells})
    doses = doses_by_day(assignment.patient, days[0], days[-1])
    return {
        "days": days,
        "cards": cards,
        "heads": [{"day": d, "entry_id": cards[d].pk if d in cards else None} for d in days],
        "rows": rows,
        "doses": [doses[d].text if d in doses else "" for d in days],
        "notes": [(d, cards[d].data.get("notes")) for d in days if d in cards and cards[d].data.get("notes")],
        "filled": len(cards),
    }


def _is_high(name: str, value: Any) -> bool:
    """Cells the safety rule looks at, marked when they meet it."""
    if name in ("urge_self_harm", "urge_suicide"):
        return isinstance(value, int) and value >= rules.URGE_ALERT_AT
    if name in ("acted_self_harm", "acted_suicide"):
        return value is True
    return False
