"""Who may see and change medications.

Readers: the care team and clinicians consented for the "medications" category. Prescribers on
the team start and change regimens. The patient sees their own and records their doses, fills
and side effects in the portal.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest

from tandem.accounts.models import Role
from tandem.audit.access import record_denied
from tandem.lib.prepared import PreparedLookup
from tandem.medications.models import Regimen, SideEffectReport
from tandem.patients.access import PatientGrant, access_patient, audit_patient_read
from tandem.patients.models import Category


def may_prescribe(grant: PatientGrant) -> bool:
    return grant.basis == "care_team" and grant.role == Role.PRESCRIBER


def access_medications_patient(
    request: HttpRequest, patient_id: Any, *, prescribe: bool = False, entity: str = "MedicationRequest"
) -> PatientGrant:
    grant = access_patient(request, patient_id, need=Category.MEDICATIONS, entity=entity, audit_read=False)
    if prescribe and not may_prescribe(grant):
        record_denied(request, entity, patient_id, patient=grant.patient)
        raise Http404
    audit_patient_read(request, grant, entity=entity, need="prescribe" if prescribe else Category.MEDICATIONS)
    return grant


def access_regimen(grant: PatientGrant, request: HttpRequest, regimen_id: Any) -> Regimen:
    regimen = None
    if str(regimen_id).isdigit() and len(str(regimen_id)) < 19:
        regimen = (
            Regimen.objects.filter(id=int(regimen_id), patient=grant.patient)
            .select_related("current")
            .first()
        )
    if regimen is None:
        record_denied(request, "MedicationRequest", regimen_id, patient=grant.patient)
        raise Http404
    return regimen


def access_side_effect_report(grant: PatientGrant, request: HttpRequest, report_id: Any) -> SideEffectReport:
    """One report of the grant's patient; 404 (audited) for another patient's or a missing id."""
    report = None
    if str(report_id).isdigit() and len(str(report_id)) < 19:
        report = (
            SideEffectReport.objects.filter(id=int(report_id), patient=grant.patient)
            .select_related("regimen", "responded_by", "reported_by")
            .first()
        )
    if report is None:
        record_denied(request, "SideEffectReport", report_id, patient=grant.patient)
        raise Http404
    return report


# Each dose a patient logs starts here: compiled once (tandem.lib.prepared).
_OWN_REGIMEN = PreparedLookup(
    lambda pk, user_id: Regimen.objects.select_related("patient").filter(
        pk=pk, patient__portal_user_id=user_id, patient__is_active=True
    ),
    pk=int,
    user_id=int,
)


def access_own_regimen(request: HttpRequest, regimen_id: Any) -> Regimen | None:
    """One of the signed-in patient's own medications, with the patient, in one query. None for
    a patient naming a medication that is not theirs; 404 (audited) for anybody not a patient."""
    from tandem.accounts.access import is_patient

    regimen = None
    if str(regimen_id).isdigit() and len(str(regimen_id)) < 19 and request.user.is_authenticated:
        regimen = _OWN_REGIMEN.first(pk=int(regimen_id), user_id=int(request.user.pk))
    if regimen is None and not is_patient(request.user):
        record_denied(request, "MedicationAdministration", regimen_id)
        raise Http404
    return regimen
