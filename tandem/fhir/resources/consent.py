"""Consent: what a patient shares with a clinician or an organisation outside their own, for
which categories and period. Needs any basis of access (RECORD), as the patient's page shows
consents; the patient reads their own."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from tandem.fhir.auth import Caller
from tandem.fhir.policy import visible
from tandem.fhir.registry import Include, ResourceType, register
from tandem.fhir.resources.common import codesystem, instant, patient_params, ref, token_q
from tandem.fhir.search import DateParam, Token, TokenParam
from tandem.patients.access import RECORD, active_consents
from tandem.patients.models import Category, Consent

STATUS = "http://hl7.org/fhir/consent-state-codes"
SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
LOINC = "http://loinc.org"


def _status_q(token: Token) -> Q:
    active = active_consents(timezone.localdate())
    return token_q(token, STATUS, {"active": active, "inactive": ~active})


@register
class ConsentType(ResourceType):
    name = "Consent"
    need = RECORD
    patient_field = "patient_id"
    params = (*patient_params(), TokenParam("status", q=_status_q), DateParam("date", "recorded_at"))
    sorts = {"_id": "pk", "date": "recorded_at"}
    default_sort = ("-recorded_at",)
    includes = {"Consent:patient": Include("Patient", lambda c: [str(c.patient_id)])}

    def queryset(self, caller: Caller) -> QuerySet[Any]:
        return Consent.objects.filter(visible(caller, RECORD)).select_related(
            "patient__organisation", "grantee_user", "grantee_organisation"
        )

    def to_fhir(self, c: Consent) -> dict[str, Any]:
        actors = []
        if c.grantee_user_id:
            assert c.grantee_user is not None
            actors.append(ref("Practitioner", c.grantee_user_id, c.grantee_user.display_name))
        if c.grantee_organisation_id:
            assert c.grantee_organisation is not None
            actors.append(ref("Organization", c.grantee_organisation_id, c.grantee_organisation.name))
        period = {"start": c.start.isoformat(), **({"end": c.end.isoformat()} if c.end else {})}
        provision: dict[str, Any] = {
            "type": "permit",
            "period": period,
            "actor": [
                {"role": {"coding": [{"system": PARTICIPATION, "code": "IRCP"}]}, "reference": actor}
                for actor in actors
            ],
            "class": [
                {"system": codesystem("consent-category"), "code": code, "display": Category(code).label}
                for code in c.categories
                if code in Category.values
            ],
        }
        if c.purpose:
            provision["purpose"] = [
                {"system": codesystem("consent-purpose"), "code": "stated", "display": c.purpose[:200]}
            ]
        resource: dict[str, Any] = {
            "resourceType": "Consent",
            "id": str(c.pk),
            "status": "active" if c.is_active_on(timezone.localdate()) else "inactive",
            "scope": {"coding": [{"system": SCOPE, "code": "patient-privacy"}]},
            "category": [{"coding": [{"system": LOINC, "code": "59284-0", "display": "Patient Consent"}]}],
            "patient": ref("Patient", c.patient_id),
            "dateTime": instant(c.recorded_at),
            "organization": [ref("Organization", c.patient.organisation_id, c.patient.organisation.name)],
            "policyRule": {"coding": [{"system": ACT_CODE, "code": "OPTIN"}]},
            "provision": provision,
        }
        return resource
