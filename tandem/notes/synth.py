"""Synthetic progress notes for `tandem synth`: a signed note for every attended therapy session of
the run's first SYNTH_PATIENTS patients (the benchmark caseloads), from a few fixed texts. Bulk
inserts of `ctx.batch` rows. No psychotherapy notes: nothing may read them but their author."""

from __future__ import annotations

from datetime import timedelta

from tandem.core.seeding import SynthContext
from tandem.notes.models import NoteStatus, ProgressNote
from tandem.therapy.models import Session, SessionKind, SessionStatus

SYNTH_PATIENTS = 1000
SUMMARIES = (
    "Reviewed homework; mood a little better this week.",
    "Practised the agreed skill in session; plans a graded step before next time.",
    "Difficult week at work; problem-solved two situations together.",
    "Sleep improving; reviewed PHQ-9 trend together.",
)
INTERVENTIONS = (["cbt_homework_review", "cbt_thought_record"], ["ba_scheduling"], ["measure_review"])


def generate(ctx: SynthContext) -> None:
    first, last = ctx.patient_id_range
    if last < first:
        return
    last = min(last, first + SYNTH_PATIENTS - 1)
    sessions = (
        Session.objects.filter(
            patient_id__gte=first,
            patient_id__lte=last,
            kind=SessionKind.THERAPY,
            status=SessionStatus.ATTENDED,
        )
        .order_by("pk")
        .values_list("pk", "patient_id", "clinician_id", "starts_at")
    )
    rng = ctx.rng
    batch: list[ProgressNote] = []
    created = 0
    for pk, patient_id, clinician_id, starts_at in list(sessions):
        signed_at = starts_at + timedelta(hours=1 + rng.randrange(0, 48))
        batch.append(
            ProgressNote(
                session_id=pk,
                patient_id=patient_id,
                author_id=clinician_id,
                status=NoteStatus.SIGNED,
                modality="cbt",
                interventions=INTERVENTIONS[pk % len(INTERVENTIONS)],
                suicidal_ideation="none_reported",
                self_harm="none_reported",
                risk_level="low",
                safety_plan_reviewed=False,
                summary=SUMMARIES[pk % len(SUMMARIES)],
                created_at=starts_at + timedelta(hours=1),
                updated_at=signed_at,
                signed_by_id=clinician_id,
                signed_at=signed_at,
            )
        )
        if len(batch) >= ctx.batch:
            ProgressNote.objects.bulk_create(batch)
            created += len(batch)
            batch = []
    if batch:
        ProgressNote.objects.bulk_create(batch)
        created += len(batch)
    ctx.created["progress notes"] = ctx.created.get("progress notes", 0) + created
