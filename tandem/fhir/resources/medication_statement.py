"""MedicationStatement: what the patient takes, one per regimen — the medicine, the dose in force,
the period from the start to the stop (open while it goes on), based on the regimen's
MedicationRequest (the same id). Needs "medications".

`effective` compares the period as FHIR compares ranges: `effective=ge2024-05-01` finds what
was still taken on or after 1 May, `effective=le2024-05-31` what had started by the end of May.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from tandem.fhir.auth import Caller
from tandem.fhir.registry import Include, ResourceType, register
from tandem.fhir.resources.common import instant, patient_params, ref
from tandem.fhir.resources.medication_common import (
    PeriodParam,
    code_q,
    dosage,
    medication_concept,
    request_status,
    request_status_q,
)
from tandem.fhir.resources.medication_request import regimens, requester_id
from tandem.fhir.search import Token, TokenParam
from tandem.medications.models import Regimen, RegimenStatus
from tandem.patients.models import Category

STATUS = "http://hl7.org/fhir/CodeSystem/medication-statement-status"
CATEGORY = "http://terminology.hl7.org/CodeSystem/medication-statement-category"


def _status_q(token: Token) -> Q:
    return request_status_q(token, STATUS)


@register
class MedicationStatementType(ResourceType):
    name = "MedicationStatement"
    need = Category.MEDICATIONS
    patient_field = "patient_id"
    params = (
        *patient_params(),
        TokenParam("status", q=_status_q, doc="active, on-hold, stopped or completed"),
        TokenParam("code", q=code_q, doc="RxNorm: http://www.nlm.nih.gov/research/umls/rxnorm|36437"),
        PeriodParam("effective", "started_at", "ended_at", doc="the period taken (start to stop)"),
    )
    sorts = {"_id": "pk", "effective": "started_at", "_lastUpdated": "changed_at"}
    default_sort = ("-started_at",)
    includes = {
        "MedicationStatement:patient": Include("Patient", lambda r: [str(r.patient_id)]),
        "MedicationStatement:subject": Include("Patient", lambda r: [str(r.patient_id)]),
    }
    last_updated = "changed_at"
    documentation = "What the patient takes, one per regimen (the id of its MedicationRequest)."

    def queryset(self, caller: Caller) -> QuerySet[Any]:
        return regimens(caller)

    def to_fhir(self, regimen: Regimen) -> dict[str, Any]:
        version = regimen.current
        assert version is not None
        resource: dict[str, Any] = {
            "resourceType": "MedicationStatement",
            "id": str(regimen.pk),
            "meta": {"lastUpdated": instant(regimen.changed_at)},  # type: ignore[attr-defined]
            "basedOn": [ref("MedicationRequest", regimen.pk)],
            "status": request_status(regimen),
        }
        if regimen.status != RegimenStatus.ACTIVE:
            resource["statusReason"] = [{"text": version.reason}]
        period = {"start": instant(regimen.started_at)}
        if regimen.ended_at is not None:
            period["end"] = instant(regimen.ended_at)
        resource |= {
            "category": {"coding": [{"system": CATEGORY, "code": "community", "display": "Community"}]},
            "medicationCodeableConcept": medication_concept(
                regimen.drug_key,
                regimen.drug_name,
                regimen.org_rxnorm,  # type: ignore[attr-defined]
            ),
            "subject": ref("Patient", regimen.patient_id),
            "effectivePeriod": period,
            "dateAsserted": instant(version.created_at),
        }
        source = requester_id(regimen)
        if source is not None:
            resource["informationSource"] = ref("Practitioner", source)
        if regimen.indication:
            resource["reasonCode"] = [{"text": regimen.indication}]
        resource["dosage"] = [dosage(version)]
        return resource
