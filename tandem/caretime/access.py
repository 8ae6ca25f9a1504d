"""Who may see and log care-team minutes.

- A patient's minutes and month report: the patient's care team only (not consented outside
  clinicians, not the org admin through the record, not break-glass). Every member logs their
  own time; care managers are the ones whose minutes count for CoCM.
- An entry is changed or removed by its author only (actions.may_change adds: within its month).
- The organisation report: the organisation's admin, over its patients.
- "My care time": any clinician, over the patients on whose care team they are today.
Everybody else gets 404, audited, like a missing id.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from tandem.accounts.access import access_admin_organisation, is_clinician
from tandem.accounts.models import Organisation
from tandem.audit.access import record_denied
from tandem.caretime.models import TimeEntry
from tandem.patients.access import PatientGrant, access_patient, audit_patient_read
from tandem.patients.models import CareTeamMember, Patient, active_on

ENTITY = "CareTime"


def may_log_time(grant: PatientGrant) -> bool:
    return grant.basis == "care_team"


def access_caretime_patient(request: HttpRequest, patient_id: Any, *, need: str = "read") -> PatientGrant:
    grant = access_patient(request, patient_id, entity=ENTITY, audit_read=False)
    if not may_log_time(grant):
        record_denied(request, ENTITY, patient_id, patient=grant.patient)
        raise Http404
    audit_patient_read(request, grant, entity=ENTITY, need=f"caretime_{need}")
    return grant


def access_own_entry(grant: PatientGrant, request: HttpRequest, entry_id: Any) -> TimeEntry:
    """One of the signed-in user's own entries for the grant's patient; 404 (audited) otherwise."""
    entry = None
    if str(entry_id).isdigit() and len(str(entry_id)) < 19:
        entry = (
            TimeEntry.objects.filter(
                id=int(entry_id), patient=grant.patient, user_id=int(request.user.pk or 0)
            )
            .select_related("patient")
            .first()
        )
    if entry is None:
        record_denied(request, ENTITY, entry_id, patient=grant.patient)
        raise Http404
    return entry


def access_org_report(request: HttpRequest) -> Organisation:
    return access_admin_organisation(request)


def access_caseload_report(request: HttpRequest) -> QuerySet[Patient]:
    """The patients on whose care team the clinician is today; 404 (audited) for non-clinicians."""
    if not is_clinician(request.user):
        record_denied(request, "CareTimeReport", "")
        raise Http404
    team = CareTeamMember.objects.filter(
        active_on(timezone.localdate()), user_id=int(request.user.pk or 0)
    ).values("patient_id")
    return Patient.objects.filter(id__in=team, is_active=True)
