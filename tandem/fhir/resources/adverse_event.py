"""AdverseEvent: each side effect the patient reported (tandem.medications SideEffectReport) —
an adverse reaction to a medicine, with the symptoms ticked on the checklist, the seriousness
and severity the triage gave it, the medicine the patient suspects and who recorded it.
Needs "medications".

Triage → seriousness/severity: urgent (a rule for a dangerous reaction fired: serious rash,
possible serotonin syndrome or lithium toxicity) is serious and severe; high (FIBSER burden
5–6) non-serious and moderate; routine non-serious and mild.

`event` is SNOMED CT 62014003 "Adverse reaction to drug" for every report; the search also
takes a checklist symptom (`<Tandem>/fhir/CodeSystem/side-effect-symptom|rash`), which the
event's text names.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q, QuerySet

from tandem.fhir.auth import Caller
from tandem.fhir.policy import visible
from tandem.fhir.registry import Include, ResourceType, register
from tandem.fhir.resources.common import codesystem, instant, patient_params, ref, token_q
from tandem.fhir.resources.medication_common import NOTHING, SNOMED
from tandem.fhir.search import DateParam, ReferenceParam, Token, TokenParam
from tandem.medications.models import SideEffectReport
from tandem.medications.side_effects import SYMPTOMS, symptom_labels
from tandem.patients.models import Category

SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
ADVERSE_REACTION = ("62014003", "Adverse reaction to drug")
# Triage severity → (seriousness, severity).
GRADES = {
    "urgent": (("serious", "Serious"), ("severe", "Severe")),
    "high": (("non-serious", "Non-serious"), ("moderate", "Moderate")),
    "routine": (("non-serious", "Non-serious"), ("mild", "Mild")),
}


def symptom_system() -> str:
    return codesystem("side-effect-symptom")


def _seriousness_q(token: Token) -> Q:
    return token_q(
        token,
        SERIOUSNESS,
        {"serious": Q(severity="urgent"), "non-serious": ~Q(severity="urgent")},
    )


def _severity_q(token: Token) -> Q:
    by_code = {grade[1][0]: Q(severity=triage) for triage, grade in GRADES.items()}
    return token_q(token, SEVERITY, by_code)


def _event_q(token: Token) -> Q:
    if not token.code:
        return Q() if token.system in (None, SNOMED, symptom_system()) else NOTHING
    found = NOTHING
    if token.system in (None, SNOMED) and token.code == ADVERSE_REACTION[0]:
        found = Q()
    if token.system in (None, symptom_system()) and token.code in SYMPTOMS:
        # The checklist is stored as a JSON list of keys; a quoted key matches one element.
        found |= Q(symptoms__icontains=f'"{token.code}"')
    return found


@register
class AdverseEventType(ResourceType):
    name = "AdverseEvent"
    need = Category.MEDICATIONS
    patient_field = "patient_id"
    params = (
        *patient_params(),
        DateParam("date", "reported_at"),
        TokenParam("seriousness", q=_seriousness_q, doc="serious or non-serious"),
        TokenParam("severity", q=_severity_q, doc="mild, moderate or severe"),
        TokenParam("event", q=_event_q, doc="SNOMED CT 62014003, or a checklist symptom"),
        ReferenceParam("substance", "regimen_id", target="MedicationStatement", doc="the suspected medicine"),
    )
    sorts = {"_id": "pk", "date": "reported_at"}
    default_sort = ("-reported_at",)
    includes = {
        "AdverseEvent:subject": Include("Patient", lambda r: [str(r.patient_id)]),
        "AdverseEvent:patient": Include("Patient", lambda r: [str(r.patient_id)]),
        "AdverseEvent:substance": Include(
            "MedicationStatement", lambda r: [str(r.regimen_id)] if r.regimen_id else []
        ),
    }
    documentation = "Side effects the patient reported, triaged; suspectEntity is the suspected medicine."

    def queryset(self, caller: Caller) -> QuerySet[Any]:
        return (
            SideEffectReport.objects.filter(visible(caller, Category.MEDICATIONS))
            .select_related("regimen")
            .annotate(portal_user_id=F("patient__portal_user_id"))
            .defer("text", "triage", "response_note")
        )

    def to_fhir(self, report: SideEffectReport) -> dict[str, Any]:
        symptoms = ", ".join(label.lower() for label in symptom_labels(report.symptoms))
        text = (
            f"Side effect reported: {symptoms}" if symptoms else "Side effect reported (described in words)"
        )
        seriousness, severity = GRADES.get(report.severity, GRADES["routine"])
        resource: dict[str, Any] = {
            "resourceType": "AdverseEvent",
            "id": str(report.pk),
            "actuality": "actual",
            "event": {
                "coding": [{"system": SNOMED, "code": ADVERSE_REACTION[0], "display": ADVERSE_REACTION[1]}],
                "text": f"{text}; FIBSER burden {report.burden} of 6",
            },
            "subject": ref("Patient", report.patient_id),
            "date": instant(report.reported_at),
            "recordedDate": instant(report.reported_at),
        }
        if report.reported_by_id is not None:
            by_patient = report.reported_by_id == report.portal_user_id  # type: ignore[attr-defined]
            resource["recorder"] = (
                ref("Patient", report.patient_id)
                if by_patient
                else ref("Practitioner", report.reported_by_id)
            )
        resource |= {
            "seriousness": {
                "coding": [{"system": SERIOUSNESS, "code": seriousness[0], "display": seriousness[1]}]
            },
            "severity": {"coding": [{"system": SEVERITY, "code": severity[0], "display": severity[1]}]},
        }
        if report.regimen_id and report.regimen is not None:
            resource["suspectEntity"] = [
                {"instance": ref("MedicationStatement", report.regimen_id, report.regimen.drug_name)}
            ]
        return resource
