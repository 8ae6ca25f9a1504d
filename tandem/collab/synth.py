"""Synthetic alerts for `tandem synth`: for 15 patients in 100, one to three alerts of different
kinds and severities, routed to different care-team roles (so that an inbox has to choose),
most open, some acknowledged, a few resolved; each alert's routes as rows. Deterministic for a
seed; plain-row inserts in batches."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.utils import timezone

from tandem.collab.models import Alert, AlertRoute
from tandem.collab.routing import KINDS
from tandem.core.seeding import SynthContext, insert_rows
from tandem.patients.models import CareTeamMember

SHARE = (15, 100)
KIND_LIST = list(KINDS)
SEVERITIES = ["urgent", "high", "high", "routine", "routine", "routine"]
ROUTES = [
    ["care_manager"],
    ["prescriber"],
    ["care_manager", "prescriber"],
    ["therapist", "care_manager"],
    ["care_manager", "prescriber", "therapist"],
    ["psychiatric_consultant", "care_manager"],
]
FIELDS = (
    "patient_id",
    "kind",
    "severity",
    "title",
    "reason",
    "rule_id",
    "source",
    "dedup_key",
    "route_to",
    "subject_type",
    "subject_id",
    "link",
    "status",
    "created_at",
    "acknowledged_by_id",
    "acknowledged_at",
    "resolved_by_id",
    "resolved_at",
    "resolution_note",
    "ack_due_at",
    "escalation_level",
    "escalated_at",
)


def generate(ctx: SynthContext) -> None:
    first, last = ctx.patient_id_range
    if last < first:
        return
    ctx.progress.set_description("alerts")
    ctx.progress.reset(total=last - first + 1)
    for start in range(first, last + 1, ctx.batch):
        stop = min(last, start + ctx.batch - 1)
        chosen = [pid for pid in range(start, stop + 1) if pid % SHARE[1] < SHARE[0]]
        members: dict[int, int] = {}
        for patient_id, user_id in (
            CareTeamMember.objects.filter(patient_id__in=chosen, end__isnull=True)
            .order_by("patient_id", "pk")
            .values_list("patient_id", "user_id")
        ):
            members.setdefault(patient_id, user_id)
        done = insert_rows(Alert, FIELDS, _alerts(ctx, chosen, members))
        routes = (
            (pk, role)
            for pk, route_to in Alert.objects.filter(patient_id__gte=start, patient_id__lte=stop).values_list(
                "pk", "route_to"
            )
            for role in route_to
        )
        insert_rows(AlertRoute, ("alert_id", "role"), routes)
        ctx.created["alerts"] = ctx.created.get("alerts", 0) + done
        ctx.progress.update(stop - start + 1)


def _alerts(ctx: SynthContext, chosen: list[int], members: dict[int, int]) -> Iterator[tuple[Any, ...]]:
    rng = ctx.rng
    now = timezone.now()
    for patient_id in chosen:
        if patient_id not in members:
            continue
        clinician = members[patient_id]
        for n, kind in enumerate(rng.sample(KIND_LIST, rng.randint(1, 3))):
            created = now - timedelta(hours=rng.randint(1, 24 * 40))
            roll = rng.random()
            status = "open" if roll < 0.7 else "acknowledged" if roll < 0.9 else "resolved"
            acked = created + timedelta(hours=rng.randint(1, 24)) if status != "open" else None
            resolved = acked + timedelta(hours=rng.randint(1, 48)) if status == "resolved" and acked else None
            label = KINDS[kind][0]
            yield (
                patient_id,
                kind,
                rng.choice(SEVERITIES),
                f"{label}: needs review",
                f"Synthetic: {KINDS[kind][1]}.",
                f"synth.{kind}",
                "",
                f"synth:{kind}:{n}",
                rng.choice(ROUTES),
                "",
                "",
                "",
                status,
                created,
                clinician if acked else None,
                acked,
                clinician if resolved else None,
                resolved,
                "Reviewed with the team." if resolved else "",
                None,
                0,
                None,
            )
