"""Who sees the registry, the dashboard and case review.

- The caseload and the weekly review list: every clinician, over the patients they may open
  today (tandem.patients.access.patients_for_clinician) — care managers and psychiatric
  consultants are who they are for; a therapist or prescriber sees their own patients only.
- The organisation dashboard (aggregate figures, no names): the organisation's admin, and its
  care managers and psychiatric consultants. Other clinicians are told who it is for.
- A patient's review history and "request a case review": the patient's active care team.
  Recording a recommendation: a psychiatric consultant on the patient's active care team.
Everybody else gets 404, audited, like a missing id.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from tandem.accounts.access import access_admin_organisation, is_clinician, memberships
from tandem.accounts.models import Organisation, Role
from tandem.audit.access import record_denied
from tandem.patients.access import PatientGrant, access_patient, audit_patient_read, patients_for_clinician
from tandem.patients.models import Patient

ENTITY = "Registry"
DASHBOARD_ROLES = frozenset({Role.CARE_MANAGER, Role.PSYCHIATRIC_CONSULTANT})


def access_caseload(request: HttpRequest) -> QuerySet[Patient]:
    if not is_clinician(request.user):
        record_denied(request, ENTITY, "caseload")
        raise Http404
    return patients_for_clinician(request.user)


def dashboard_organisation(request: HttpRequest) -> Organisation | None:
    """The organisation whose dashboard a clinician sees (None: not a care manager or consultant
    anywhere); 404 (audited) for anyone who is not a clinician."""
    if not is_clinician(request.user):
        record_denied(request, ENTITY, "dashboard")
        raise Http404
    for m in memberships(request.user):
        if m.role in DASHBOARD_ROLES:
            return m.organisation
    return None


def access_org_dashboard(request: HttpRequest) -> Organisation:
    return access_admin_organisation(request)


def access_review_patient(request: HttpRequest, patient_id: Any) -> PatientGrant:
    grant = access_patient(request, patient_id, entity=ENTITY, audit_read=False)
    if grant.basis != "care_team":
        record_denied(request, ENTITY, patient_id, patient=grant.patient)
        raise Http404
    audit_patient_read(request, grant, entity=ENTITY, need="case_review")
    return grant


def access_recommend(request: HttpRequest, patient_id: Any) -> PatientGrant:
    grant = access_patient(request, patient_id, entity=ENTITY, audit_read=False)
    if grant.basis != "care_team" or grant.role != Role.PSYCHIATRIC_CONSULTANT:
        record_denied(request, ENTITY, patient_id, patient=grant.patient)
        raise Http404
    return grant
