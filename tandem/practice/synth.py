"""Synthetic skills practice for `tandem synth`: one patient in five has a thought record (three
times a week, three entries sent); every other one of them also a daily diary card (five days
sent). Assigned by the patient's therapist; bulk inserts, deterministic for a seed."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone

from tandem.accounts.models import Role
from tandem.core.seeding import SynthContext
from tandem.patients.models import CareTeamMember
from tandem.practice.models import Assignment, Entry, EntryStatus, Frequency, TemplateKind

SHARE = 5  # one patient in SHARE
THOUGHT = {
    "situation": "A hard moment at work",
    "emotions": [{"name": "Anxious", "rating": 70, "after": 40}],
    "thoughts": [{"text": "I will get it wrong", "hot": True}],
    "evidence_for": "",
    "evidence_against": "It went fine last time",
    "balanced": "I have done this before",
    "belief": 60,
}


def _diary(rng: Any, day: str) -> dict[str, Any]:
    return {
        "day": day,
        "urge_self_harm": rng.choice((0, 0, 1, 2)),
        "acted_self_harm": False,
        "urge_suicide": rng.choice((0, 0, 0, 1)),
        "acted_suicide": False,
        "urge_substance": rng.choice((0, 1, 2)),
        "acted_substance": False,
        "emo_emotional_misery": rng.randint(0, 4),
        "skills": rng.randint(0, 7),
        "medication": "as_prescribed",
    }


def generate(ctx: SynthContext) -> None:
    first, last = ctx.patient_id_range
    if last < first:
        return
    rng = ctx.rng
    tz = timezone.get_current_timezone()
    ctx.progress.set_description("skills practice")
    ctx.progress.reset(total=last - first + 1)
    start_day = ctx.anchor - timedelta(days=14)
    made_at = datetime.combine(start_day, time(9, 0), tzinfo=tz)
    for batch_start in range(first, last + 1, ctx.batch):
        ids = range(batch_start, min(last, batch_start + ctx.batch - 1) + 1)
        chosen = [pid for pid in ids if pid % SHARE == 0]
        therapists = dict(
            CareTeamMember.objects.filter(patient_id__in=chosen, role=Role.THERAPIST).values_list(
                "patient_id", "user_id"
            )
        )
        assignments = []
        for n, pid in enumerate(chosen):
            common = {
                "patient_id": pid,
                "assigned_by_id": therapists.get(pid),
                "assigned_role": Role.THERAPIST,
            }
            assignments.append(
                Assignment(
                    template=TemplateKind.THOUGHT_RECORD,
                    title="Thought record",
                    frequency=Frequency.TIMES_PER_WEEK,
                    times_per_week=3,
                    start=start_day,
                    created_at=made_at,
                    **common,
                )
            )
            if n % 2 == 0:
                assignments.append(
                    Assignment(
                        template=TemplateKind.DIARY_CARD,
                        title="Diary card",
                        frequency=Frequency.DAILY,
                        start=start_day,
                        created_at=made_at,
                        **common,
                    )
                )
        Assignment.objects.bulk_create(assignments, batch_size=ctx.batch)
        entries = []
        for a in assignments:
            diary = a.template == TemplateKind.DIARY_CARD
            for k in range(5 if diary else 3):
                day = start_day + timedelta(days=2 + k * (1 if diary else 4))
                at = datetime.combine(day, time(20, 0), tzinfo=tz)
                entries.append(
                    Entry(
                        assignment=a,
                        patient_id=a.patient_id,
                        status=EntryStatus.SUBMITTED,
                        data=_diary(rng, day.isoformat()) if diary else THOUGHT,
                        version=1,
                        entry_date=day,
                        idempotency_key=f"synth-{a.pk}-{k}",
                        created_at=at,
                        updated_at=at,
                        submitted_at=at,
                    )
                )
        Entry.objects.bulk_create(entries, batch_size=ctx.batch)
        ctx.created["practice assignments"] = ctx.created.get("practice assignments", 0) + len(assignments)
        ctx.created["practice entries"] = ctx.created.get("practice entries", 0) + len(entries)
        ctx.progress.update(len(ids))
