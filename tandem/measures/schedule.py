"""Which instruments are due: the monitoring section of the patient's active plan (e.g. PHQ-9
and GAD-7 every 14 days), and a follow-up due at once after a positive screen (PHQ-2 ≥ 3 → PHQ-9,
GAD-2 ≥ 3 → GAD-7). Days are counted in the patient's own time zone.

Only a scored administration resets the clock: a form left incomplete does not count as done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Max

from tandem.lib.timezones import local_date
from tandem.measures import definitions
from tandem.measures.models import InstrumentResponse
from tandem.patients.models import Patient
from tandem.plans.models import PlanStatus, TreatmentPlan


@dataclass(frozen=True)
class Due:
    instrument: str
    short_name: str
    due_on: date
    reason: str
    last_at: datetime | None = None
    every_days: int | None = None

    def overdue_days(self, today: date) -> int:
        return max(0, (today - self.due_on).days)


def monitoring_section(patient: Patient) -> list[dict[str, object]]:
    """The monitoring items of the patient's active plan ([] without one). One query."""
    plan = (
        TreatmentPlan.objects.filter(patient=patient, status=PlanStatus.ACTIVE, current__isnull=False)
        .select_related("current")
        .only("current__content")
        .first()
    )
    if plan is None or plan.current is None:
        return []
    return list(plan.current.content.get("monitoring") or [])


def due_instruments(patient: Patient, today: date) -> list[Due]:
    """What is due on `today` (the patient's local date), soonest due first. Three queries."""
    schedule: dict[str, int] = {}
    for row in monitoring_section(patient):
        defn = definitions.by_plan_key(str(row.get("instrument")))
        every = row.get("every_days")
        if defn is not None and isinstance(every, int) and every > 0:
            # The same instrument twice in the plan: the shorter interval wins.
            schedule[defn.id] = min(every, schedule.get(defn.id, every))
    followups = {d.id: d.screen.then for d in definitions.registry().values() if d.screen and d.screen.then}
    wanted = set(schedule) | set(followups) | set(followups.values())
    last_scored = dict(
        InstrumentResponse.objects.filter(patient=patient, scored=True, instrument__in=wanted)
        .values("instrument")
        .annotate(last=Max("authored_at"))
        .values_list("instrument", "last")
    )
    due: dict[str, Due] = {}
    for instrument, every in schedule.items():
        defn = definitions.get(instrument)
        last = last_scored.get(instrument)
        if last is None:
            due[instrument] = Due(
                instrument, defn.short_name, today, "first administration in the plan", None, every
            )
            continue
        due_on = local_date(last, patient.time_zone) + timedelta(days=every)
        if due_on <= today:
            due[instrument] = Due(
                instrument, defn.short_name, due_on, f"every {every} days in the plan", last, every
            )
    _positive_screens(patient, followups, last_scored, schedule, today, due)
    return sorted(due.values(), key=lambda d: (d.due_on, d.instrument))


def _positive_screens(
    patient: Patient,
    followups: dict[str, str],
    last_scored: dict[str, datetime],
    schedule: dict[str, int],
    today: date,
    due: dict[str, Due],
) -> None:
    screens = [s for s in followups if s in last_scored]
    if not screens:
        return
    latest = InstrumentResponse.objects.filter(
        patient=patient,
        scored=True,
        instrument__in=screens,
        authored_at__in=[last_scored[s] for s in screens],
    ).only("instrument", "authored_at", "flags", "total")
    for response in latest:
        then = followups[response.instrument]
        if not response.flags.get("positive_screen"):
            continue
        after = last_scored.get(then)
        if after is not None and after >= response.authored_at:
            continue  # the follow-up was given after the positive screen
        screen = definitions.get(response.instrument)
        due[then] = Due(
            then,
            definitions.get(then).short_name,
            min(today, local_date(response.authored_at, patient.time_zone)),
            f"{screen.short_name} positive ({response.total}): {definitions.get(then).short_name} due now",
            last_scored.get(then),
            schedule.get(then),
        )
