"""Demo treatment plans: most Demo Clinic patients have an active plan with some history; Maya
(the portal patient) has an unacknowledged change, a safety plan and a relapse-prevention plan."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from tandem.accounts.models import Notification, Role, User
from tandem.core.seeding import DemoContext
from tandem.patients.models import CareTeamMember, Patient
from tandem.plans import actions
from tandem.plans.models import DocumentKind, PlanRevision, PlanStatus, SafetyRevision, TreatmentPlan

DIAGNOSES = [
    ("F33.1", "Major depressive disorder, recurrent, moderate"),
    ("F32.1", "Major depressive disorder, single episode, moderate"),
    ("F41.1", "Generalized anxiety disorder"),
    ("F33.2", "Major depressive disorder, recurrent, severe without psychotic features"),
    ("F43.10", "Post-traumatic stress disorder, unspecified"),
    ("F31.81", "Bipolar II disorder"),
]
OWN_GOALS = [
    "Get back to running twice a week",
    "Sleep through the night",
    "Enjoy time with my kids again",
    "Go back to work full time",
    "Feel less on edge at work",
    "See my friends again",
    "Finish my course",
    "Stop dreading Mondays",
    "Cook proper meals again",
    "Get through a day without panic",
]
APPROACHES = {
    "F33.1": "Continue sertraline; increase from 50 mg to 100 mg if PHQ-9 has not fallen 20% by week 4.",
    "F32.1": "Start escitalopram 10 mg; review side effects at 2 weeks and response at 6 weeks.",
    "F41.1": "Start sertraline 25 mg for one week, then 50 mg; avoid benzodiazepines.",
    "F33.2": "Venlafaxine XR 75 mg, titrate to 150 mg; check blood pressure at each visit.",
    "F43.10": "Sertraline 50 mg, titrate to 100–150 mg; prazosin for nightmares if they persist.",
    "F31.81": "Lamotrigine titration (standard schedule, no valproate); no antidepressant monotherapy.",
}
MODALITY_FOR = {
    "F33.1": "cbt",
    "F32.1": "ba",
    "F41.1": "cbt",
    "F33.2": "ipt",
    "F43.10": "cbt",
    "F31.81": "dbt",
}


def _content(i: int, team: dict[str, User]) -> dict[str, Any]:
    code, text = DIAGNOSES[i % len(DIAGNOSES)]
    anxious = code == "F41.1"
    goals: list[dict[str, Any]] = [
        {"kind": "patient", "text": OWN_GOALS[i % len(OWN_GOALS)]},
        {
            "kind": "clinical",
            "text": "Out of the moderate range: " + ("GAD-7 below 10" if anxious else "PHQ-9 below 10"),
            "measure": "gad7" if anxious else "phq9",
            "comparator": "<",
            "target": 10,
        },
        {
            "kind": "clinical",
            "text": "Remission",
            "measure": "gad7" if anxious else "phq9",
            "comparator": "<",
            "target": 5,
        },
    ]
    therapist = team.get(Role.THERAPIST)
    return {
        "problems": [{"code": code, "text": text}],
        "goals": goals,
        "therapy": [
            {
                "modality": MODALITY_FOR[code],
                "therapist_id": therapist.pk if therapist else None,
                "frequency": "weekly" if i % 3 else "every two weeks",
                "planned_sessions": 12 + (i % 3) * 4,
                "focus": "Activity scheduling and thinking traps"
                if MODALITY_FOR[code] in ("cbt", "ba")
                else "Interpersonal focus",
            }
        ],
        "medication": {"approach": APPROACHES[code]},
        "monitoring": [
            {"instrument": "gad7" if anxious else "phq9", "every_days": 14},
            *([{"instrument": "gad7", "every_days": 28}] if not anxious else []),
        ],
        "responsibilities": [
            {"who": "prescriber", "what": "Adjust medication; review side effects at each visit"},
            {"who": "therapist", "what": "Weekly sessions; homework review"},
            {"who": "care manager", "what": "Track PHQ-9 every two weeks; call if no contact for 2 weeks"},
            {"who": "patient", "what": "Take medication daily; practise skills between sessions"},
        ],
        "communication": [
            {"text": "Prescriber tells the therapist after every medication change"},
            {"text": "Therapist sends a monthly summary to the prescriber"},
        ],
    }


def _backdate(revision: PlanRevision, when: Any) -> None:
    PlanRevision.objects.filter(pk=revision.pk).update(created_at=when)


def build(ctx: DemoContext) -> None:
    if TreatmentPlan.objects.filter(patient__organisation=ctx.orgs["demo-clinic"]).exists():
        return
    started = timezone.now()
    patients = list(Patient.objects.filter(organisation=ctx.orgs["demo-clinic"]).order_by("mrn"))
    for i, patient in enumerate(patients):
        if i % 8 == 7:
            continue  # a few patients are still being assessed: no plan yet
        members = CareTeamMember.objects.filter(patient=patient, end__isnull=True).select_related("user")
        team = {m.role: m.user for m in members}
        author = team.get(Role.PRESCRIBER) or team.get(Role.THERAPIST)
        if author is None:
            continue
        content = _content(i, team)
        plan = actions.do_create_plan(
            patient,
            acting_user=author,
            role=Role.PRESCRIBER,
            content=content,
            reason="Initial plan agreed at the first joint review",
        )
        first = plan.current
        actions.do_set_plan_status(plan, PlanStatus.ACTIVE, acting_user=author)
        weeks = 2 + (i * 3) % 30
        assert first is not None
        _backdate(first, timezone.now() - timedelta(weeks=weeks))
        ctx.count("treatment plans")
        for member in team.values():  # everyone aligned on the first revision
            actions.do_acknowledge(plan, revision_number=1, acting_user=member)
        therapist = team.get(Role.THERAPIST)
        if therapist and i % 2 == 0:
            plan.refresh_from_db()
            revised = {**plan.current.content}  # type: ignore[union-attr]
            revised["therapy"] = [
                {**revised["therapy"][0], "focus": revised["therapy"][0]["focus"] + "; sleep routine"}
            ]
            revision = actions.do_revise_plan(
                plan,
                content=revised,
                reason="Added sleep routine to the therapy focus",
                acting_user=therapist,
                role=Role.THERAPIST,
                base_revision=plan.revision_count,
            )
            _backdate(revision, timezone.now() - timedelta(weeks=max(1, weeks // 2)))
            # Everyone but the newest change of Maya's and Jim's plans is acknowledged.
            if i not in (0, 1):
                for member in team.values():
                    actions.do_acknowledge(plan, revision_number=revision.number, acting_user=member)
        if i in (0, 1):
            plan.refresh_from_db()
            prescriber = team[Role.PRESCRIBER]
            revised = {**plan.current.content}  # type: ignore[union-attr]
            revised["medication"] = {
                "approach": "Sertraline increased to 100 mg: PHQ-9 fell only 10% by week 4."
            }
            actions.do_revise_plan(
                plan,
                content=revised,
                reason="Dose increase after early non-improvement",
                acting_user=prescriber,
                role=Role.PRESCRIBER,
                base_revision=plan.revision_count,
            )
        if i == 0:
            _maya(ctx, patient, plan, team)
    # The notifications of building the demo are history, not news.
    Notification.objects.filter(created_at__gte=started).update(read_at=timezone.now())


def _maya(ctx: DemoContext, patient: Patient, plan: TreatmentPlan, team: dict[str, User]) -> None:
    portal = patient.portal_user
    assert portal is not None
    therapist = team[Role.THERAPIST]
    actions.do_save_safety_document(
        patient,
        DocumentKind.SAFETY,
        acting_user=therapist,
        role=Role.THERAPIST,
        base_revision=0,
        reason="Written together in session",
        content={
            "warning_signs": [
                "Staying in bed past noon",
                "Not answering my sister's calls",
                "Thinking 'what's the point'",
            ],
            "coping_strategies": [
                "Walk around the block",
                "Shower and change clothes",
                "Play the piano for 10 minutes",
            ],
            "distractions": ["Coffee shop on Main St", "Call Jordan to watch a film"],
            "people_to_ask": [
                {"name": "Ana (sister)", "phone": "+1 555 0142"},
                {"name": "Jordan (partner)", "phone": "+1 555 0177"},
            ],
            "professionals": [
                {"name": "Dana Whitfield (therapist)", "phone": "+1 555 0100"},
                {"name": "988 Suicide & Crisis Lifeline", "phone": "988"},
            ],
            "safe_environment": ["Jordan keeps the spare medication", "No alcohol in the house"],
            "reasons_for_living": ["My niece", "Finishing my music course", "Summer at the lake"],
        },
    )
    actions.do_save_safety_document(
        patient,
        DocumentKind.RELAPSE,
        acting_user=therapist,
        role=Role.THERAPIST,
        base_revision=0,
        reason="Drafted as PHQ-9 improved",
        content={
            "warning_signs": ["Sleeping more than 10 hours", "Cancelling plans two weekends running"],
            "actions": ["Book an extra session", "Restart the activity schedule"],
            "contacts": [{"name": "Carlos Mendes (care manager)", "phone": "+1 555 0111"}],
            "maintenance": [
                "Keep taking sertraline for at least 6 months after feeling well",
                "Run twice a week",
            ],
        },
    )
    SafetyRevision.objects.filter(document__patient=patient).update(
        created_at=timezone.now() - timedelta(weeks=3)
    )
    actions.do_patient_question(
        plan,
        patient=patient,
        acting_user=portal,
        text="Will I have to take sertraline forever? I worry about that.",
    )
    ctx.count("safety documents", 2)
