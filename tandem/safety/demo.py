"""Demo safety workflow: the Demo Clinic's escalation policy and crisis resources; one patient
whose PHQ-9 item 9 was positive 45 minutes ago, the urgent alert open and due within the hour;
and one whose flag a documented risk assessment resolved last week. Idempotent."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tandem.accounts.models import Role
from tandem.collab.actions import do_set_escalation_policy
from tandem.collab.models import EscalationPolicy
from tandem.core.seeding import DemoContext
from tandem.measures import definitions
from tandem.measures.actions import do_record_response
from tandem.measures.models import InstrumentResponse
from tandem.patients.models import CareTeamMember, Patient
from tandem.safety.actions import do_document_assessment
from tandem.safety.models import CrisisSettings

AWAITING = ("DC-1004", "demo-safety-awaiting")
RESOLVED = ("DC-1005", "demo-safety-resolved")


def _phq9(values: list[int]) -> dict[str, str]:
    defn = definitions.get("phq-9")
    return {
        link: next(o.code for o in defn.options(defn.item(link)) if o.value == value)
        for link, value in zip(defn.scoring.items, values, strict=True)
    }


def _member(patient: Patient, role: str) -> CareTeamMember | None:
    return (
        CareTeamMember.objects.filter(patient=patient, role=role, end__isnull=True)
        .select_related("user")
        .first()
    )


def _screen(patient: Patient, key: str, item9: int, when_minutes_ago: int) -> bool:
    if InstrumentResponse.objects.filter(patient=patient, idempotency_key=key).exists():
        return False
    giver = _member(patient, Role.CARE_MANAGER) or _member(patient, Role.THERAPIST)
    if giver is None:
        return False
    now = timezone.now() - timedelta(minutes=when_minutes_ago)
    do_record_response(
        patient,
        instrument="phq-9",
        answers=_phq9([2, 2, 1, 2, 1, 1, 2, 1, item9]),
        administered_by="clinician",
        source="clinician",
        idempotency_key=key,
        acting_user=giver.user,
        role=giver.role,
        authored_at=now,
        now=now,
    )
    return True


def build(ctx: DemoContext) -> None:
    org = ctx.orgs.get("demo-clinic")
    if org is None:
        return
    if not EscalationPolicy.objects.filter(organisation=org).exists():
        do_set_escalation_policy(
            org,
            ack_window_minutes=60,
            on_call_user=ctx.users.get("prescriber@demo.tandem"),
            on_call_phone="555-0100",
            acting_user=None,
        )
        CrisisSettings.objects.get_or_create(organisation=org, defaults={"country": "US"})
    patients = {
        p.mrn: p for p in Patient.objects.filter(organisation=org, mrn__in=[AWAITING[0], RESOLVED[0]])
    }
    awaiting = patients.get(AWAITING[0])
    if awaiting is not None and _screen(awaiting, AWAITING[1], item9=1, when_minutes_ago=45):
        ctx.count("safety flags awaiting acknowledgement")
    resolved = patients.get(RESOLVED[0])
    if resolved is not None and _screen(resolved, RESOLVED[1], item9=2, when_minutes_ago=8 * 24 * 60):
        assessor = _member(resolved, Role.PRESCRIBER)
        if assessor is not None:
            do_document_assessment(
                resolved,
                cssrs={
                    "/93246-7": "yes",
                    "/93247-5": "yes",
                    "/93248-3": "no",
                    "/93249-1": "no",
                    "/93250-9": "no",
                    "/93267-3": "no",
                },
                risk_level="moderate",
                actions=["safety_plan_updated", "means_counselling", "follow_up_scheduled"],
                rationale=(
                    "Seen the same day. Thoughts of being better off dead and non-specific active "
                    "thoughts over the past month; no method, intent or plan; no past behaviour. "
                    "Safety plan updated together; medicines to be kept by her partner; call in 48 h."
                ),
                resolves_flag=True,
                idempotency_key="demo-safety-assessment",
                acting_user=assessor.user,
                role=assessor.role,
                now=timezone.now() - timedelta(days=8) + timedelta(hours=3),
            )
            ctx.count("safety flags resolved by an assessment")
