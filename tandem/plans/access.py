"""Who may read, edit, acknowledge and discuss a patient's plan and safety documents.

Readers: the care team, consented clinicians holding the "plan" category, and the patient (in
the portal). Editors: therapists, prescribers and care managers on the team. Everyone who reads
the plan as a clinician may comment and propose a change; the care team acknowledges changes.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest

from tandem.accounts.models import Role
from tandem.audit.access import record_denied
from tandem.patients.access import PatientGrant, access_own_patient, access_patient
from tandem.patients.models import Category
from tandem.plans.models import PlanProposal, PlanRevision, TreatmentPlan

EDITOR_ROLES = frozenset({Role.THERAPIST, Role.PRESCRIBER, Role.CARE_MANAGER})


def may_edit(grant: PatientGrant) -> bool:
    return grant.basis == "care_team" and grant.role in EDITOR_ROLES


def may_acknowledge(grant: PatientGrant) -> bool:
    return grant.basis == "care_team"


def access_plan_patient(
    request: HttpRequest, patient_id: Any, *, edit: bool = False, entity: str = "CarePlan"
) -> PatientGrant:
    """The patient's grant for the plan; 404 (audited) for anybody without the plan category, or
    without the right to edit when `edit`."""
    grant = access_patient(request, patient_id, need=Category.PLAN, entity=entity, audit_read=False)
    if edit and not may_edit(grant):
        record_denied(request, entity, patient_id, patient=grant.patient)
        raise Http404
    from tandem.patients.access import audit_patient_read

    audit_patient_read(request, grant, entity=entity, need="edit" if edit else Category.PLAN)
    return grant


def access_plan(grant: PatientGrant, request: HttpRequest, plan_id: Any) -> TreatmentPlan:
    """One plan of the granted patient; another patient's plan id is not found."""
    plan = None
    if str(plan_id).isdigit() and len(str(plan_id)) < 19:
        plan = (
            TreatmentPlan.objects.filter(id=int(plan_id), patient=grant.patient)
            .select_related("current")
            .first()
        )
    if plan is None:
        record_denied(request, "CarePlan", plan_id, patient=grant.patient)
        raise Http404
    return plan


def access_revision(plan: TreatmentPlan, request: HttpRequest, number: Any) -> PlanRevision:
    revision = None
    if str(number).isdigit() and len(str(number)) < 9:
        revision = PlanRevision.objects.filter(plan=plan, number=int(number)).select_related("author").first()
    if revision is None:
        record_denied(request, "PlanRevision", number, patient=plan.patient_id)
        raise Http404
    return revision


def access_proposal(plan: TreatmentPlan, request: HttpRequest, proposal_id: Any) -> PlanProposal:
    proposal = None
    if str(proposal_id).isdigit() and len(str(proposal_id)) < 19:
        proposal = PlanProposal.objects.filter(id=int(proposal_id), plan=plan).first()
    if proposal is None:
        record_denied(request, "PlanProposal", proposal_id, patient=plan.patient_id)
        raise Http404
    return proposal


def section_author_id(plan: TreatmentPlan, section: str) -> int | None:
    """Who decides on proposals for a section: its last author, else the plan's creator."""
    authors = plan.current.section_authors if plan.current else {}
    return authors.get(section) or plan.created_by_id


def access_own_plan_patient(request: HttpRequest, *, entity: str = "CarePlan") -> PatientGrant:
    return access_own_patient(request, entity=entity)


def plans_awaiting_acknowledgement(user: Any, limit: int = 20) -> list[TreatmentPlan]:
    """Active plans of the user's care-team patients whose current revision someone else wrote
    and the user has not acknowledged: their "acknowledge plan change" items."""
    from django.utils import timezone

    from tandem.patients.models import CareTeamMember, active_on
    from tandem.plans.models import PlanStatus

    team = CareTeamMember.objects.filter(active_on(timezone.localdate()), user=user).values("patient_id")
    return list(
        TreatmentPlan.objects.filter(status=PlanStatus.ACTIVE, patient_id__in=team, current__isnull=False)
        .exclude(current__author=user)
        .exclude(current__acknowledgements__user=user)
        .select_related("patient", "current__author")
        .order_by("-current__created_at")[:limit]
    )
