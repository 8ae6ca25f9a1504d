"""Demo care time: the care manager's minutes for every demo patient in the collaborative-care
programme, over the previous and the current month, so that the reports show a first month
(99492), later months with add-on time (99493 + 99494) and months below a threshold.

Entries go through do_log_time with fixed idempotency keys, so running `tandem demo` again
creates nothing twice.
"""

from __future__ import annotations

from datetime import date, timedelta

from tandem.accounts.models import Role
from tandem.caretime.actions import CareTimeError, do_log_time, patient_today
from tandem.caretime.models import Activity
from tandem.caretime.report import month_start, next_month, previous_month
from tandem.core.seeding import DemoContext
from tandem.patients.models import CareTeamMember

# Activities of a month's work, in the order a care manager does them; minutes are shared out.
FIRST_MONTH = [
    (Activity.ASSESSMENT, 30),
    (Activity.CARE_PLANNING, 20),
    (Activity.MEASUREMENT, 10),
    (Activity.FOLLOW_UP, 15),
]  # 75 minutes: 99492
LATER_MONTHS = {
    "add_on": [
        (Activity.FOLLOW_UP, 25),
        (Activity.BRIEF_INTERVENTION, 30),
        (Activity.CASE_REVIEW, 15),
        (Activity.REGISTRY_REVIEW, 10),
        (Activity.COORDINATION, 15),
    ],  # 95 minutes: 99493 + 99494
    "base": [(Activity.FOLLOW_UP, 20), (Activity.CASE_REVIEW, 15), (Activity.FOLLOW_UP, 30)],  # 65: 99493
    "below": [(Activity.FOLLOW_UP, 20), (Activity.REGISTRY_REVIEW, 10), (Activity.COORDINATION, 10)],  # 40
}
NOTES = {
    Activity.ASSESSMENT: "initial assessment call",
    Activity.CARE_PLANNING: "care plan with patient",
    Activity.FOLLOW_UP: "phone follow-up",
    Activity.BRIEF_INTERVENTION: "behavioural activation session",
    Activity.CASE_REVIEW: "weekly case review",
    Activity.REGISTRY_REVIEW: "registry review",
    Activity.COORDINATION: "coordination with therapist",
    Activity.MEASUREMENT: "PHQ-9 and GAD-7",
}


def build(ctx: DemoContext) -> None:
    org = ctx.orgs.get("demo-clinic")
    if org is None:
        return
    rows = (
        CareTeamMember.objects.filter(patient__organisation=org, role=Role.CARE_MANAGER, end__isnull=True)
        .select_related("patient", "user")
        .order_by("patient__mrn")
    )
    for j, member in enumerate(rows):
        patient = member.patient
        today = patient_today(patient)
        first = month_start(member.start)
        current = month_start(today)
        for month in (previous_month(current), current):
            if month < first:
                continue
            if month == first:
                plan = FIRST_MONTH
            elif month == current:
                plan = LATER_MONTHS[("below", "base", "add_on")[j % 3]]
            else:
                plan = LATER_MONTHS["add_on"]
            window_start = max(member.start, month)
            window_end = min(today, next_month(month) - timedelta(days=1))
            _log_month(ctx, member, plan, window_start, window_end, f"demo-{patient.mrn}-{month:%Y-%m}")


def _log_month(
    ctx: DemoContext, member: CareTeamMember, plan: list, start: date, end: date, key: str
) -> None:
    span = max((end - start).days, 0)
    for n, (activity, minutes) in enumerate(plan):
        day = start + timedelta(days=(span * n) // max(len(plan) - 1, 1))
        try:
            _, created = do_log_time(
                member.patient,
                data={
                    "activity": activity,
                    "day": day.isoformat(),
                    "minutes": str(minutes),
                    "note": NOTES[activity],
                },
                idempotency_key=f"{key}-{n}",
                acting_user=member.user,
                role=Role.CARE_MANAGER,
            )
        except CareTimeError:
            continue  # a day the demo's dates do not allow (e.g. before care started)
        if created:
            ctx.count("care-time entries")
