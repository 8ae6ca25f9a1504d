"""MedicationDispense: each pharmacy fill (tandem.medications Fill) — the medicine, when it was
handed over, the days it lasts and the quantity; the input of refill-based adherence (PDC).
Needs "medications".

Create: `POST /fhir/MedicationDispense` records a fill through do_record_fill, the action the
fill imports use, so the fill counts in PDC at once. Who may: the care team's prescribers,
care managers and therapists (as an imported fill), and the patient's own token (as reported
by the patient); anybody else gets the 404 of a patient that does not exist. Required: status
`completed`, the subject, a medicine Tandem knows by RxNorm (or its own drug key), daysSupply
(1–365 days) and whenHandedOver (not in the future). The identifier is stored with the fill
(once per patient: the same identifier again answers the fill stored then); without one, an
identical resend is recognised by its content.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from fhir.resources.R4B.medicationdispense import MedicationDispense

from tandem.fhir.auth import Caller
from tandem.fhir.errors import FhirError
from tandem.fhir.policy import visible
from tandem.fhir.registry import Include, ResourceType, register
from tandem.fhir.resources.common import instant, patient_params, ref, token_q
from tandem.fhir.resources.medication_common import (
    UCUM,
    check_structure,
    code_q,
    drug_for_concept,
    medication_concept,
    number,
    parse_moment,
    reference_id,
    subject_patient,
    unprocessable,
    with_org_rxnorm,
)
from tandem.fhir.search import DateParam, ReferenceParam, Token, TokenParam
from tandem.lib.timezones import local_date
from tandem.medications.actions import MedicationError
from tandem.medications.fills import do_record_fill, may_record_fills
from tandem.medications.models import Fill, FillSource, Regimen
from tandem.patients.access import grant_for
from tandem.patients.models import Category, Patient

NAME = "MedicationDispense"
STATUS = "http://terminology.hl7.org/CodeSystem/medicationdispense-status"
EXTERNAL_MAX = 100  # Fill.external_id
INTERNAL_KEYS = ("portal:", "form:", "fhir-content:", "fhir-id:")  # form keys, not identifiers
DAY_UNITS = {"d", "day", "days"}
# The action's fields → the element of the resource to name.
ELEMENTS = {
    "drug": "medicationCodeableConcept",
    "regimen": "authorizingPrescription",
    "fill_date": "whenHandedOver",
    "days_supply": "daysSupply",
    "quantity": "quantity",
}


def external_id(label: str) -> str:
    return label if len(label) <= EXTERNAL_MAX else "fhir-id:" + hashlib.sha256(label.encode()).hexdigest()


def _identifier_q(token: Token) -> Q:
    if token.system is None:
        return Q(external_id=token.code) | Q(external_id__endswith=f"|{token.code}")
    return Q(external_id=external_id(f"{token.system}|{token.code}" if token.system else token.code))


def _status_q(token: Token) -> Q:
    return token_q(token, STATUS, {"completed": Q()})


def identifier_of(fill: Fill) -> dict[str, str] | None:
    if not fill.external_id or fill.external_id.startswith(INTERNAL_KEYS):
        return None
    system, bar, value = fill.external_id.partition("|")
    return {"system": system, "value": value} if bar and system and value else {"value": fill.external_id}


def may_dispense(caller: Caller, patient: Patient) -> str | None:
    if caller.own_patient_id == patient.pk:
        return "patient"
    if caller.patient_context_only:
        return None
    grant = grant_for(caller.user, patient)
    return grant.role if grant is not None and may_record_fills(grant) else None


@register
class MedicationDispenseType(ResourceType):
    name = NAME
    need = Category.MEDICATIONS
    patient_field = "patient_id"
    interactions = ("read", "search-type", "create")
    conditional_create = True
    params = (
        *patient_params(),
        TokenParam("status", q=_status_q, doc="completed"),
        TokenParam("code", q=code_q, doc="RxNorm: http://www.nlm.nih.gov/research/umls/rxnorm|36437"),
        DateParam("whenhandedover", "fill_date", is_date=True),
        TokenParam("identifier", q=_identifier_q, doc="the sender's identifier: system|value"),
        ReferenceParam("prescription", "regimen_id", target="MedicationRequest"),
    )
    sorts = {"_id": "pk", "whenhandedover": "fill_date", "_lastUpdated": "created_at"}
    default_sort = ("-fill_date",)
    includes = {
        "MedicationDispense:patient": Include("Patient", lambda f: [str(f.patient_id)]),
        "MedicationDispense:subject": Include("Patient", lambda f: [str(f.patient_id)]),
        "MedicationDispense:prescription": Include(
            "MedicationRequest", lambda f: [str(f.regimen_id)] if f.regimen_id else []
        ),
    }
    last_updated = "created_at"
    documentation = "Pharmacy fills, the input of PDC; create records one (If-None-Exist honoured)."

    def queryset(self, caller: Caller) -> QuerySet[Any]:
        return with_org_rxnorm(Fill.objects.filter(visible(caller, Category.MEDICATIONS)))

    def to_fhir(self, fill: Fill) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "resourceType": NAME,
            "id": str(fill.pk),
            "meta": {"lastUpdated": instant(fill.created_at)},
        }
        identifier = identifier_of(fill)
        if identifier:
            resource["identifier"] = [identifier]
        resource |= {
            "status": "completed",
            "medicationCodeableConcept": medication_concept(
                fill.drug_key,
                fill.drug_name,
                fill.org_rxnorm,  # type: ignore[attr-defined]
            ),
            "subject": ref("Patient", fill.patient_id),
        }
        if fill.regimen_id:
            resource["authorizingPrescription"] = [ref("MedicationRequest", fill.regimen_id)]
        if fill.quantity is not None:
            resource["quantity"] = {"value": number(fill.quantity)}
        resource |= {
            "daysSupply": {"value": fill.days_supply, "unit": "days", "system": UCUM, "code": "d"},
            "whenHandedOver": fill.fill_date.isoformat(),
        }
        return resource

    def create(self, request: HttpRequest, caller: Caller, body: dict[str, Any]) -> tuple[Any, bool]:
        check_structure(MedicationDispense, body, NAME)
        patient, role = subject_patient(request, caller, body, NAME, may_dispense)
        if body.get("status") != "completed":
            raise unprocessable(NAME, "status", "must be completed: only a dispense handed over is a fill.")
        medicine = self._medicine(patient, body)
        days = self._days_supply(body.get("daysSupply"))
        handed = parse_moment(body.get("whenHandedOver"), patient.time_zone)
        if handed is None:
            raise unprocessable(
                NAME,
                "whenHandedOver",
                "is required: the date (or time, with its zone) of the fill.",
                "required",
            )
        if handed > timezone.now():
            raise unprocessable(NAME, "whenHandedOver", "is in the future.")
        amount = (body.get("quantity") or {}).get("value")
        day = local_date(handed, patient.time_zone)
        try:
            fill, created = do_record_fill(
                patient,
                regimen_or_drug=medicine,
                fill_date=day,
                days_supply=days,
                quantity=Decimal(str(amount)) if amount is not None else None,
                source=FillSource.PATIENT if role == "patient" else FillSource.IMPORT,
                external_id=self._external_id(body, patient, medicine, day.isoformat(), days),
                acting_user=caller.user,
                request=request,
                role=role,
            )
        except MedicationError as exc:
            if exc.field == "external_id":
                raise FhirError(
                    409, "conflict", f"{NAME}.identifier: {exc}", expression=f"{NAME}.identifier"
                ) from None
            raise unprocessable(NAME, ELEMENTS.get(exc.field, exc.field), f"{exc}.") from None
        return with_org_rxnorm(Fill.objects.filter(pk=fill.pk)).get(), created

    def _medicine(self, patient: Patient, body: dict[str, Any]) -> Regimen | str:
        concept = body.get("medicationCodeableConcept")
        if concept is None:
            raise unprocessable(
                NAME,
                "medicationCodeableConcept",
                "is required (Tandem serves no Medication resources).",
                "required",
            )
        drug = drug_for_concept(patient, concept)
        if drug is None:
            raise unprocessable(
                NAME,
                "medicationCodeableConcept",
                "names no medicine Tandem knows: give its RxNorm code "
                "(system http://www.nlm.nih.gov/research/umls/rxnorm).",
                "code-invalid",
            )
        prescriptions = body.get("authorizingPrescription") or []
        if not prescriptions:
            return drug.key
        regimen_id = reference_id(prescriptions[0], "MedicationRequest")
        regimen = (
            Regimen.objects.filter(pk=regimen_id, patient=patient).first() if regimen_id is not None else None
        )
        if regimen is None:
            raise unprocessable(
                NAME, "authorizingPrescription[0]", "names no MedicationRequest of this patient."
            )
        if regimen.drug_key != drug.key:
            raise unprocessable(
                NAME, "medicationCodeableConcept", f"is not the medicine of MedicationRequest/{regimen.pk}."
            )
        return regimen

    def _days_supply(self, value: Any) -> int:
        if not isinstance(value, dict) or value.get("value") is None:
            raise unprocessable(
                NAME, "daysSupply", "is required: the number of days the fill lasts.", "required"
            )
        unit = value.get("code") or value.get("unit")
        if unit is not None and str(unit).lower() not in DAY_UNITS:
            raise unprocessable(NAME, "daysSupply", f"must be in days (UCUM d), not {unit!r}.")
        if value.get("system") not in (None, UCUM):
            raise unprocessable(NAME, "daysSupply", f"must be a UCUM quantity ({UCUM}).")
        days = Decimal(str(value["value"]))
        if days <= 0 or days != days.to_integral_value():
            raise unprocessable(NAME, "daysSupply", f"must be a whole number of days above 0, not {days}.")
        return int(days)

    def _external_id(
        self, body: dict[str, Any], patient: Patient, medicine: Regimen | str, day: str, days: int
    ) -> str:
        """The sender's identifier; without one, a digest of what the fill says, so that an
        identical resend is stored once."""
        for identifier in body.get("identifier") or []:
            if identifier.get("value"):
                system = identifier.get("system") or ""
                return external_id(f"{system}|{identifier['value']}" if system else identifier["value"])
        drug = medicine.drug_key if isinstance(medicine, Regimen) else medicine
        content = [patient.pk, drug, day, days, (body.get("quantity") or {}).get("value")]
        return "fhir-content:" + hashlib.sha256(json.dumps(content, default=str).encode()).hexdigest()
