"""Synthetic sessions for `tandem synth`: every patient has 12 weekly therapy sessions with their
therapist at one local time — 8 before the anchor day (mostly attended, some cancelled, late-
cancelled or missed) and 4 after it (scheduled). Bulk inserts of `ctx.batch` rows, one read of
the care team per batch of patients."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from tandem.accounts.models import Role
from tandem.core.seeding import SynthContext, insert_rows
from tandem.lib.timezones import at_local
from tandem.patients.models import CareTeamMember
from tandem.therapy.models import Session, SessionKind, SessionStatus, Setting

PAST = 8
FIELDS = (
    "patient",
    "clinician",
    "kind",
    "modality",
    "starts_at",
    "duration_minutes",
    "setting",
    "place",
    "telehealth_url",
    "status",
    "status_reason",
    "status_changed_at",
    "created_at",
    "idempotency_key",
)
FUTURE = 4
OUTCOMES = (
    (0.80, SessionStatus.ATTENDED),
    (0.88, SessionStatus.CANCELLED),
    (0.93, SessionStatus.LATE_CANCELLED),
    (1.00, SessionStatus.NO_SHOW),
)


def generate(ctx: SynthContext) -> None:
    first, last = ctx.patient_id_range
    if last < first:
        return
    rng = ctx.rng
    now = timezone.now()
    zones: dict[str, ZoneInfo] = {}
    ctx.progress.set_description("sessions")
    ctx.progress.reset(total=last - first + 1)
    per_batch = max(1, ctx.batch // (PAST + FUTURE))
    created = 0
    for start in range(first, last + 1, per_batch):
        stop = min(last, start + per_batch - 1)
        therapists = CareTeamMember.objects.filter(
            patient_id__gte=start, patient_id__lte=stop, role=Role.THERAPIST
        ).values_list("patient_id", "user_id", "patient__time_zone")
        rows: list[list[object]] = []
        for patient_id, user_id, tz_name in therapists:
            tz = zones.setdefault(tz_name, ZoneInfo(tz_name))
            wall = time(9 + patient_id % 8, 0)
            day = ctx.anchor - timedelta(weeks=PAST) + timedelta(days=patient_id % 5)
            for week in range(PAST + FUTURE):
                starts_at = at_local(day + timedelta(weeks=week), wall, tz)
                status = SessionStatus.SCHEDULED
                changed = None
                if week < PAST:
                    roll = rng.random()
                    status = next(s for bound, s in OUTCOMES if roll < bound)
                    changed = starts_at + timedelta(hours=1)
                rows.append(
                    [
                        *(patient_id, user_id, SessionKind.THERAPY, "", starts_at, 50, Setting.IN_PERSON),
                        *("", "", status, "", changed, now, ""),
                    ]
                )
        insert_rows(Session, FIELDS, rows, batch=ctx.batch)
        created += len(rows)
        ctx.progress.update(stop - start + 1)
    ctx.created["sessions"] = ctx.created.get("sessions", 0) + created
