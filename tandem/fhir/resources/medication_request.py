"""MedicationRequest: each regimen (tandem.medications Regimen) as prescribed now — its version
in force: the medicine (RxNorm and Tandem's drug key), the dose and its timing, the status, who
wrote it and why. Every titration, hold or stop is a new version of the same request, so the
id is the regimen's and `meta.lastUpdated` moves with each change. Needs "medications".
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.functions import Greatest

from tandem.fhir.auth import Caller
from tandem.fhir.policy import visible
from tandem.fhir.registry import Include, ResourceType, register
from tandem.fhir.resources.common import instant, patient_params, ref, token_q
from tandem.fhir.resources.medication_common import (
    code_q,
    dosage,
    medication_concept,
    request_status,
    request_status_q,
    with_org_rxnorm,
)
from tandem.fhir.search import DateParam, Token, TokenParam
from tandem.medications.models import Regimen, RegimenStatus
from tandem.patients.models import Category

STATUS = "http://hl7.org/fhir/CodeSystem/medicationrequest-status"
INTENT = "http://hl7.org/fhir/CodeSystem/medicationrequest-intent"
CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"


def regimens(caller: Caller) -> QuerySet[Regimen]:
    """The regimens of the patients whose medications the caller may read, each with its
    version in force, its org drug's RxNorm code and when it last changed — one query."""
    rows = (
        Regimen.objects.filter(visible(caller, Category.MEDICATIONS), current__isnull=False)
        .select_related("current")
        .annotate(changed_at=Greatest("current__created_at", "current__effective_at"))
    )
    return with_org_rxnorm(rows)


def _status_q(token: Token) -> Q:
    return request_status_q(token, STATUS)


def _intent_q(token: Token) -> Q:
    return token_q(token, INTENT, {"order": Q()})


def requester_id(regimen: Regimen) -> int | None:
    version = regimen.current
    return (version.author_id if version is not None else None) or regimen.prescriber_id


@register
class MedicationRequestType(ResourceType):
    name = "MedicationRequest"
    need = Category.MEDICATIONS
    patient_field = "patient_id"
    params = (
        *patient_params(),
        TokenParam("status", q=_status_q, doc="active, on-hold, stopped or completed"),
        TokenParam("intent", q=_intent_q, doc="order"),
        TokenParam("code", q=code_q, doc="RxNorm: http://www.nlm.nih.gov/research/umls/rxnorm|36437"),
        DateParam("authoredon", "current__created_at", doc="when the prescription in force was written"),
    )
    sorts = {"_id": "pk", "authoredon": "current__created_at", "_lastUpdated": "changed_at"}
    default_sort = ("-current__created_at",)
    includes = {
        "MedicationRequest:patient": Include("Patient", lambda r: [str(r.patient_id)]),
        "MedicationRequest:subject": Include("Patient", lambda r: [str(r.patient_id)]),
        "MedicationRequest:requester": Include(
            "Practitioner", lambda r: [str(i) for i in [requester_id(r)] if i is not None]
        ),
    }
    last_updated = "changed_at"
    documentation = "Each regimen as prescribed now (its version in force); the id is the regimen's."

    def queryset(self, caller: Caller) -> QuerySet[Any]:
        return regimens(caller)

    def to_fhir(self, regimen: Regimen) -> dict[str, Any]:
        version = regimen.current
        assert version is not None
        status = request_status(regimen)
        resource: dict[str, Any] = {
            "resourceType": "MedicationRequest",
            "id": str(regimen.pk),
            "meta": {"lastUpdated": instant(regimen.changed_at)},  # type: ignore[attr-defined]
            "status": status,
        }
        if regimen.status != RegimenStatus.ACTIVE:
            resource["statusReason"] = {"text": version.reason}
        resource |= {
            "intent": "order",
            "category": [{"coding": [{"system": CATEGORY, "code": "community", "display": "Community"}]}],
            "medicationCodeableConcept": medication_concept(
                regimen.drug_key,
                regimen.drug_name,
                regimen.org_rxnorm,  # type: ignore[attr-defined]
            ),
            "subject": ref("Patient", regimen.patient_id),
            "authoredOn": instant(version.created_at),
        }
        requester = requester_id(regimen)
        if requester is not None:
            resource["requester"] = ref("Practitioner", requester)
        if regimen.indication:
            resource["reasonCode"] = [{"text": regimen.indication}]
        resource["dosageInstruction"] = [dosage(version)]
        if regimen.switched_from_id:
            resource["priorPrescription"] = ref("MedicationRequest", regimen.switched_from_id)
        return resource
