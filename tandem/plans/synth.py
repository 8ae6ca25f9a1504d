"""Synthetic treatment plans for `tandem synth`: every synthetic patient gets an active plan
with two revisions (written by their prescriber, then their therapist), and one in ten a safety
plan. The benchmark care manager's first patient gets a portal account, `bench.patient…`, so the
patient's own plan page can be measured."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone

from tandem.accounts.models import Role, User
from tandem.accounts.synth import BENCH_KEY
from tandem.core.seeding import SynthContext
from tandem.patients.models import CareTeamMember, Patient
from tandem.plans.models import (
    PlanAcknowledgement,
    PlanRevision,
    PlanStatus,
    SafetyDocument,
    SafetyRevision,
    TreatmentPlan,
)
from tandem.plans.schema import SECTIONS, PlanContent

PROBLEMS = [
    ("F33.1", "Major depressive disorder, recurrent, moderate"),
    ("F32.1", "Major depressive disorder, single episode, moderate"),
    ("F41.1", "Generalized anxiety disorder"),
    ("F43.10", "Post-traumatic stress disorder, unspecified"),
]
OWN_GOALS = [
    "Sleep through the night",
    "Go back to work",
    "See friends again",
    "Enjoy cooking again",
    "Walk every day",
]
MODALITIES = ["cbt", "ba", "ipt", "pst", "dbt"]


def _content(rng: Any, therapist_id: int | None, k: int) -> dict[str, Any]:
    code, text = rng.choice(PROBLEMS)
    measure = "gad7" if code == "F41.1" else "phq9"
    return {
        "problems": [{"key": f"p{k}", "code": code, "text": text}],
        "goals": [
            {"key": f"g{k}a", "kind": "patient", "text": rng.choice(OWN_GOALS)},
            {
                "key": f"g{k}b",
                "kind": "clinical",
                "text": "Remission",
                "measure": measure,
                "comparator": "<",
                "target": 5.0,
                "target_date": None,
            },
        ],
        "therapy": [
            {
                "key": f"t{k}",
                "modality": rng.choice(MODALITIES),
                "modality_other": "",
                "therapist_id": therapist_id,
                "frequency": "weekly",
                "planned_sessions": rng.choice([8, 12, 16]),
                "focus": "",
            }
        ],
        "medication": {"approach": "Start an SSRI and review at 4 weeks", "regimen_ids": []},
        "monitoring": [{"key": f"m{k}", "instrument": measure, "every_days": 14}],
        "responsibilities": [{"key": f"r{k}", "who": "care manager", "what": "Track scores every two weeks"}],
        "communication": [
            {"key": f"c{k}", "text": "Prescriber tells the therapist after every medication change"}
        ],
    }


def generate(ctx: SynthContext) -> None:
    first, last = ctx.patient_id_range
    if last < first:
        return
    rng = ctx.rng
    PlanContent.model_validate(_content(rng, None, 0))  # the shape written in bulk below is valid
    ctx.progress.set_description("treatment plans")
    ctx.progress.reset(total=last - first + 1)
    for start in range(first, last + 1, ctx.batch):
        stop = min(last, start + ctx.batch - 1)
        teams: dict[int, dict[str, int]] = {}
        for pid, uid, role in CareTeamMember.objects.filter(
            patient_id__gte=start, patient_id__lte=stop
        ).values_list("patient_id", "user_id", "role"):
            teams.setdefault(pid, {})[role] = uid
        patient_ids = sorted(teams)
        enrolled = datetime.combine(
            ctx.anchor - timedelta(days=60), time(9, 0), tzinfo=timezone.get_current_timezone()
        )
        plans = TreatmentPlan.objects.bulk_create(
            [
                TreatmentPlan(
                    patient_id=pid,
                    status=PlanStatus.ACTIVE,
                    created_by_id=teams[pid].get(Role.PRESCRIBER),
                    created_at=enrolled,
                    activated_at=enrolled,
                    revision_count=2,
                )
                for pid in patient_ids
            ]
        )
        revisions: list[PlanRevision] = []
        for plan in plans:
            team = teams[plan.patient_id]
            first_content = _content(rng, team.get(Role.THERAPIST), plan.patient_id)
            second = {
                **first_content,
                "therapy": [{**first_content["therapy"][0], "focus": "Sleep and activity"}],
            }
            revisions.append(
                PlanRevision(
                    plan=plan,
                    number=1,
                    author_id=team.get(Role.PRESCRIBER),
                    author_role="prescriber",
                    created_at=enrolled,
                    reason="Initial plan",
                    content=first_content,
                    changed_sections=list(SECTIONS),
                    section_authors=dict.fromkeys(SECTIONS, team.get(Role.PRESCRIBER)),
                )
            )
            revisions.append(
                PlanRevision(
                    plan=plan,
                    number=2,
                    author_id=team.get(Role.THERAPIST),
                    author_role="therapist",
                    created_at=enrolled + timedelta(days=14),
                    reason="Therapy focus agreed",
                    content=second,
                    changed_sections=["therapy"],
                    section_authors={
                        **dict.fromkeys(SECTIONS, team.get(Role.PRESCRIBER)),
                        "therapy": team.get(Role.THERAPIST),
                    },
                )
            )
        PlanRevision.objects.bulk_create(revisions)
        for plan, revision in zip(plans, revisions[1::2], strict=True):
            plan.current = revision
        TreatmentPlan.objects.bulk_update(plans, ["current"])
        # Three in four teams acknowledged the second revision; the rest still have it waiting.
        acks = [
            PlanAcknowledgement(revision=revision, user_id=uid, acknowledged_at=revision.created_at)
            for revision in revisions[1::2]
            if rng.random() < 0.75
            for uid in teams[revision.plan.patient_id].values()
        ]
        PlanAcknowledgement.objects.bulk_create(acks, ignore_conflicts=True)
        _safety_plans(ctx, [p.patient_id for p in plans if rng.random() < 0.1], teams, enrolled)
        ctx.created["treatment plans"] = ctx.created.get("treatment plans", 0) + len(plans)
        ctx.progress.update(len(plans))
    _bench_patient(ctx, first)


SAFETY = {
    "warning_signs": ["Not sleeping", "Withdrawing from friends"],
    "coping_strategies": ["Go for a walk"],
    "distractions": ["Call a friend"],
    "people_to_ask": [{"name": "A family member", "phone": "555 0100"}],
    "professionals": [{"name": "988 Suicide & Crisis Lifeline", "phone": "988"}],
    "safe_environment": ["Medication kept by a partner"],
    "reasons_for_living": ["Family"],
}


def _safety_plans(
    ctx: SynthContext, patient_ids: list[int], teams: dict[int, dict[str, int]], when: datetime
) -> None:
    documents = SafetyDocument.objects.bulk_create(
        [
            SafetyDocument(patient_id=pid, kind="safety", created_at=when, revision_count=1)
            for pid in patient_ids
        ]
    )
    revisions = SafetyRevision.objects.bulk_create(
        [
            SafetyRevision(
                document=d,
                number=1,
                author_id=teams[d.patient_id].get(Role.THERAPIST),
                author_role="therapist",
                created_at=when,
                reason="Written together",
                content=SAFETY,
            )
            for d in documents
        ]
    )
    for document, revision in zip(documents, revisions, strict=True):
        document.current = revision
    SafetyDocument.objects.bulk_update(documents, ["current"])
    ctx.created["safety plans"] = ctx.created.get("safety plans", 0) + len(documents)


def _bench_patient(ctx: SynthContext, patient_id: int) -> None:
    email = "bench.patient@synth.tandem"
    if User.objects.filter(email=email).exists():
        email = f"bench.patient.s{ctx.seed}@synth.tandem"
    # The same password hash as every synthetic clinician (hashing is slow on purpose).
    password = User.objects.filter(pk=ctx.user_ids[BENCH_KEY][0]).values_list("password", flat=True).first()
    user = User.objects.create(email=email, full_name="Benchmark Patient", password=password or "!")
    Patient.objects.filter(pk=patient_id).update(portal_user=user)
    ctx.created["portal accounts"] = 1
