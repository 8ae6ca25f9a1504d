"""Synthetic care time for `tandem synth`: for two patients in five, three to six entries by
their care manager over the anchor's month and the month before (never before their care-team
start), with minutes drawn so that the reports show every code and months below thresholds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from tandem.accounts.models import Role
from tandem.caretime.models import Activity, TimeEntry
from tandem.caretime.report import month_start, previous_month
from tandem.core.seeding import SynthContext, insert_rows
from tandem.patients.models import CareTeamMember

SHARE = (2, 5)  # two patients in five
ACTIVITIES = list(Activity.values)
FIELDS = (
    "patient_id",
    "user_id",
    "role",
    "activity",
    "day",
    "month",
    "minutes",
    "note",
    "idempotency_key",
    "created_at",
    "updated_at",
)


def generate(ctx: SynthContext) -> None:
    first, last = ctx.patient_id_range
    if last < first:
        return
    ctx.progress.set_description("care time")
    ctx.progress.reset(total=last - first + 1)
    earliest = month_start(previous_month(month_start(ctx.anchor)))
    for start in range(first, last + 1, ctx.batch):
        stop = min(last, start + ctx.batch - 1)
        members = (
            CareTeamMember.objects.filter(
                patient_id__gte=start, patient_id__lte=stop, role=Role.CARE_MANAGER, end__isnull=True
            )
            .order_by("patient_id")
            .values_list("patient_id", "user_id", "start")
        )
        rows = list(_rows(ctx, members, earliest))
        done = insert_rows(TimeEntry, FIELDS, rows)
        ctx.created["care-time entries"] = ctx.created.get("care-time entries", 0) + done
        ctx.progress.update(stop - start + 1)


def _rows(ctx: SynthContext, members: Any, earliest: date) -> Iterator[tuple[Any, ...]]:
    rng = ctx.rng
    now = timezone.now()
    seen: set[int] = set()
    for patient_id, user_id, started in members:
        if patient_id in seen or patient_id % SHARE[1] >= SHARE[0]:
            continue
        seen.add(patient_id)
        low = max(started, earliest)
        span = (ctx.anchor - low).days
        if span < 0:
            continue
        for _ in range(rng.randint(3, 6)):
            day = low + timedelta(days=rng.randint(0, span))
            yield (
                patient_id,
                user_id,
                Role.CARE_MANAGER.value,
                rng.choice(ACTIVITIES),
                day,
                month_start(day),
                rng.choice((10, 15, 20, 25, 30, 45)),
                "",
                "",
                now,
                now,
            )
