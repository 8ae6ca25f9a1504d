"""Demo case review for Demo Clinic: this week's list with a review request from the care manager,
and the consultant's recommendations for a patient who is not improving — a medication change
the prescriber has acted on and a therapy suggestion still open with the therapist. Made through
the actions with fixed keys, so a second run adds nothing."""

from __future__ import annotations

from django.utils import timezone

from tandem.accounts.models import Role, User
from tandem.core.seeding import DemoContext
from tandem.handoffs.actions import do_complete_handoff
from tandem.handoffs.models import Handoff, HandoffStatus
from tandem.patients.models import CareTeamMember, Patient, active_on
from tandem.registry.actions import do_record_recommendation, do_request_review

NEEDED = (Role.PSYCHIATRIC_CONSULTANT, Role.PRESCRIBER, Role.THERAPIST, Role.CARE_MANAGER)


def _teams(ctx: DemoContext) -> list[tuple[Patient, dict[str, User]]]:
    org = ctx.orgs.get("demo-clinic")
    if org is None:
        return []
    found = []
    for patient in Patient.objects.filter(organisation=org, is_active=True).order_by("mrn")[:40]:
        rows = CareTeamMember.objects.filter(active_on(timezone.localdate()), patient=patient).select_related(
            "user"
        )
        team = {m.role: m.user for m in rows}
        if all(role in team for role in NEEDED):
            found.append((patient, team))
    return found


def build(ctx: DemoContext) -> None:
    teams = _teams(ctx)
    if not teams:
        return
    patient, team = teams[0]
    medication, created = do_record_recommendation(
        patient,
        consultant=team[Role.PSYCHIATRIC_CONSULTANT],
        area="medication",
        text="PHQ-9 has not fallen by half at 10 weeks on sertraline 50 mg with good adherence: "
        "increase to 100 mg and repeat the PHQ-9 in 4 weeks.",
        recipient=team[Role.PRESCRIBER].pk,
        idempotency_key="demo-registry-rec-medication",
    )
    if created:
        ctx.count("case-review recommendations")
    handoff = Handoff.objects.filter(pk=medication.handoff_id or 0).first()
    if handoff is not None and handoff.status != HandoffStatus.DONE:
        do_complete_handoff(
            handoff, acting_user=team[Role.PRESCRIBER], note="Increased to 100 mg at today's visit."
        )
    _, created = do_record_recommendation(
        patient,
        consultant=team[Role.PSYCHIATRIC_CONSULTANT],
        area="therapy",
        text="Add behavioural activation between sessions; weekly activity scheduling.",
        recipient=team[Role.THERAPIST].pk,
        idempotency_key="demo-registry-rec-therapy",
    )
    if created:
        ctx.count("case-review recommendations")
    other, other_team = teams[1] if len(teams) > 1 else teams[0]
    _, created = do_request_review(
        other,
        acting_user=other_team[Role.CARE_MANAGER],
        reason="Missed two follow-up calls and says sleep is worse; please discuss at this week's review.",
        idempotency_key="demo-registry-request",
    )
    if created:
        ctx.count("case-review requests")
