"""Observation: instrument total scores (category survey, `score-<id>`, needs "measures"), lab
results (laboratory; QTc as procedure; `lab-<id>`) and vital signs (vital-signs, `vital-<id>`),
both from tandem.medications LabResult and needing "medications". One search runs across all
three (tandem.fhir.union), so category, code, date, _sort, paging and total hold across them.

Create: `POST /fhir/Observation` records a lab result or vital sign through the same action as
the labs page (do_record_lab: checked, flagged, monitoring answered, out-of-range alerts raised),
for members of the patient's care team, as on that page. Scores are not created here: they come
as a QuestionnaireResponse. `If-None-Exist` is honoured (e.g. identifier=system|value); the same
identifier sent again returns the first result.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.dateparse import parse_datetime
from fhir.resources.R4B.observation import Observation
from pydantic import ValidationError

from tandem.audit.access import record_denied
from tandem.fhir.auth import Caller
from tandem.fhir.errors import FhirError, bad_request, not_found
from tandem.fhir.policy import parse_patient_id
from tandem.fhir.registry import Include, register
from tandem.fhir.resources.common import patient_params
from tandem.fhir.resources.observation_labs import (
    BY_LOINC,
    CATEGORY,
    LOINC,
    UCUM,
    LabCode,
    LabSource,
    VitalSource,
)
from tandem.fhir.resources.observation_scores import ScoreSource
from tandem.fhir.search import DateParam, TokenParam
from tandem.fhir.union import UnionType
from tandem.measures.models import InstrumentResponse
from tandem.medications.actions import MedicationError
from tandem.medications.models import FillSource
from tandem.medications.monitoring import do_record_lab
from tandem.medications.views.labs import may_record_labs
from tandem.patients.access import grant_for
from tandem.patients.models import Category, Patient

OBS = "Observation"
# do_record_lab's fields → the element of the Observation they come from.
ELEMENTS = {
    "kind": f"{OBS}.code",
    "value": f"{OBS}.valueQuantity.value",
    "unit": f"{OBS}.valueQuantity.code",
    "observed_at": f"{OBS}.effectiveDateTime",
    "external_id": f"{OBS}.identifier",
    "note": f"{OBS}.note",
    "source": OBS,
}


def _from_score(response: InstrumentResponse) -> list[str]:
    return [str(response.pk)] if isinstance(response, InstrumentResponse) else []


@register
class ObservationType(UnionType):
    name = OBS
    need = Category.MEASURES  # and "medications" for labs and vitals: see the sources
    patient_field = "patient"
    interactions = ("read", "search-type", "create")
    conditional_create = True
    sources = (ScoreSource(), LabSource(), VitalSource())
    columns = ("date", "updated")
    params = (
        *patient_params(),
        TokenParam("category", doc=f"{CATEGORY}|survey, laboratory, vital-signs or procedure"),
        TokenParam("code", doc="a LOINC code, e.g. http://loinc.org|44261-6 (PHQ-9) or 14334-7 (lithium)"),
        DateParam("date", doc="when it was observed (effectiveDateTime)"),
        TokenParam("status", doc="final"),
        TokenParam("identifier", doc="a lab result's identifier, system|value"),
    )
    sorts = {"_id": "_id", "date": "date", "_lastUpdated": "updated"}
    default_sort = ("-date",)
    includes = {
        "Observation:patient": Include("Patient", lambda r: [str(r.patient_id)]),
        "Observation:subject": Include("Patient", lambda r: [str(r.patient_id)]),
        "Observation:derived-from": Include("QuestionnaireResponse", _from_score),
    }
    last_updated = "updated"
    documentation = (
        "Categories survey (instrument total scores, ids score-<n>), laboratory (lab-<n>), "
        "vital-signs (vital-<n>) and procedure (the ECG's QTc, lab-<n>). "
        "Create: lab results and vital signs with a supported LOINC code and UCUM unit."
    )

    def create(self, request: HttpRequest, caller: Caller, body: dict[str, Any]) -> tuple[Any, bool]:
        try:
            Observation.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = OBS + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.get("loc", ()))
            raise bad_request(
                f"{where}: {first.get('msg', 'is not valid')}", expression=where, code="structure"
            ) from None
        patient = self._patient(request, caller, body)
        grant = grant_for(caller.user, patient) if not caller.patient_context_only else None
        if grant is None or not may_record_labs(grant):
            record_denied(request, OBS, f"patient={patient.pk}", patient=patient)
            raise not_found()
        code, unit = _code_and_unit(body)
        observed_at = _effective(body)
        identifier = _identifier(body)
        notes = [n.get("text", "") for n in body.get("note") or [] if isinstance(n, dict)]
        try:
            recorded = do_record_lab(
                patient,
                kind=code.kind,
                value=str(body["valueQuantity"].get("value", "")),
                unit=unit,
                observed_at=observed_at,
                source=FillSource.IMPORT,
                external_id=identifier,
                note=" ".join(n for n in notes if n),
                acting_user=caller.user,
                role=grant.role,
                request=request,
            )
        except MedicationError as exc:
            where = ELEMENTS.get(exc.field, OBS)
            raise FhirError(422, "invalid", f"{where}: {exc}", expression=where) from None
        return recorded.lab, recorded.created

    def _patient(self, request: HttpRequest, caller: Caller, body: dict[str, Any]) -> Patient:
        subject = body.get("subject") or {}
        reference = subject.get("reference") if isinstance(subject, dict) else None
        if not reference:
            raise _unprocessable("subject", "must reference the patient (Patient/<id>)", "required")
        patient_id = parse_patient_id(reference)
        patient = (
            Patient.objects.select_related("organisation").filter(pk=patient_id, is_active=True).first()
            if patient_id
            else None
        )
        if patient is None:
            record_denied(request, OBS, f"patient={str(reference)[:40]}")
            raise not_found()
        return patient


def _unprocessable(element: str, message: str, code: str = "invalid") -> FhirError:
    where = f"{OBS}.{element}"
    return FhirError(422, code, f"{where} {message}.", expression=where)


def _code_and_unit(body: dict[str, Any]) -> tuple[LabCode, str]:
    """The lab code of `code` (a LOINC code Tandem records), checked against `category`, and
    Tandem's unit for the UCUM unit of `valueQuantity`."""
    codings = (body.get("code") or {}).get("coding") or []
    loinc = [c.get("code") for c in codings if c.get("system") == LOINC]
    found = next((BY_LOINC[c] for c in loinc if c in BY_LOINC), None)
    if found is None:
        shown = ", ".join(str(c) for c in loinc) or "no LOINC code"
        raise _unprocessable(
            "code",
            f"has {shown}; Tandem records these LOINC codes (http://loinc.org): "
            + ", ".join(sorted(BY_LOINC))
            + " (instrument scores come as a QuestionnaireResponse)",
            "code-invalid",
        )
    for n, concept in enumerate(body.get("category") or []):
        categories = {c.get("code") for c in concept.get("coding") or [] if c.get("system") == CATEGORY}
        if categories and found.category not in categories:
            raise _unprocessable(
                f"category[{n}]",
                f"does not match the code: {found.loinc} is {found.category}",
                "code-invalid",
            )
    quantity = body.get("valueQuantity")
    if not quantity:
        raise _unprocessable("valueQuantity", "is required (a value with a UCUM unit)", "required")
    if quantity.get("value") is None:
        raise _unprocessable("valueQuantity.value", "is required", "required")
    if quantity.get("system") != UCUM or quantity.get("code") not in found.ucum:
        raise _unprocessable(
            "valueQuantity.code",
            f"must be a UCUM unit (system {UCUM}) of {found.loinc}: " + ", ".join(sorted(found.ucum)),
            "code-invalid",
        )
    return found, found.ucum[quantity["code"]]


def _effective(body: dict[str, Any]) -> datetime:
    text = body.get("effectiveDateTime")
    if not text:
        raise _unprocessable(
            "effectiveDateTime", "is required: when the sample or measurement was taken", "required"
        )
    moment = parse_datetime(str(text))
    if moment is None or moment.tzinfo is None:
        raise _unprocessable("effectiveDateTime", "must be a date and time with a time zone")
    return moment


def _identifier(body: dict[str, Any]) -> str:
    for item in body.get("identifier") or []:
        value, system = item.get("value"), item.get("system")
        if value:
            return f"{system}|{value}" if system else str(value)
    return ""
