"""Who may see and record measures.

Readers: the care team and clinicians consented for the "measures" category. The therapist,
prescriber and care manager on the team administer an instrument in session (the consultant
advises on the scores; a consented outside clinician reads them). The patient answers their own
in the portal.
"""

from __future__ import annotations

from typing import Any, Protocol

from django.http import Http404, HttpRequest

from tandem.accounts.models import Role
from tandem.audit.access import record_denied
from tandem.measures.models import InstrumentResponse
from tandem.patients.access import PatientGrant, access_patient, audit_patient_read
from tandem.patients.models import Category

ENTITY = "QuestionnaireResponse"
ADMINISTERING_ROLES = frozenset({Role.THERAPIST, Role.PRESCRIBER, Role.CARE_MANAGER})


class Grounds(Protocol):
    """Why a user sees a patient: a PatientGrant, or the FHIR policy's decision."""

    @property
    def basis(self) -> str: ...

    @property
    def role(self) -> str: ...


def may_administer(grant: Grounds) -> bool:
    return grant.basis == "care_team" and grant.role in ADMINISTERING_ROLES


def access_measures_patient(
    request: HttpRequest, patient_id: Any, *, administer: bool = False
) -> PatientGrant:
    grant = access_patient(request, patient_id, need=Category.MEASURES, entity=ENTITY, audit_read=False)
    if administer and not may_administer(grant):
        record_denied(request, ENTITY, patient_id, patient=grant.patient)
        raise Http404
    audit_patient_read(request, grant, entity=ENTITY, need="administer" if administer else Category.MEASURES)
    return grant


def access_response(grant: PatientGrant, request: HttpRequest, response_id: Any) -> InstrumentResponse:
    """One response of the grant's patient; 404 (audited) for another patient's or a missing id."""
    response = None
    if str(response_id).isdigit() and len(str(response_id)) < 19:
        response = (
            InstrumentResponse.objects.filter(id=int(response_id), patient=grant.patient)
            .select_related("entered_by")
            .first()
        )
    if response is None:
        record_denied(request, ENTITY, response_id, patient=grant.patient)
        raise Http404
    return response
