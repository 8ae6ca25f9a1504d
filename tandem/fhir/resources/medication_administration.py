"""MedicationAdministration: each dose the patient logged (tandem.medications DoseLog) — taken
(status completed, when it was taken) or skipped (not-done, why, at the time it was due), for
the regimen's MedicationRequest. Needs "medications".

Create: `POST /fhir/MedicationAdministration` logs a dose through do_log_dose, the action of the
portal's one-tap button, with its rules (up to 48 hours late, the most as-needed doses a day,
a reason for a skipped dose). Only the patient's own token logs doses, as only the patient does
in the portal; anybody else gets the 404 of a patient that does not exist. The scheduled dose
is the latest due at most 3 hours after effectiveDateTime (a dose taken a little early counts
for its time). Retries: the identifier (system|value) is the dose's idempotency key — without
one, the content is — so a resend answers the dose logged first; If-None-Exist takes
`identifier=system|value` too (the identifier is kept as a digest, and not shown back).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from fhir.resources.R4B.medicationadministration import MedicationAdministration

from tandem.fhir.auth import Caller
from tandem.fhir.errors import FhirError
from tandem.fhir.policy import visible
from tandem.fhir.registry import Include, ResourceType, register
from tandem.fhir.resources.common import instant, patient_params, ref
from tandem.fhir.resources.medication_common import (
    NOTHING,
    check_structure,
    code_q,
    drug_for_concept,
    first_text,
    medication_concept,
    parse_moment,
    reference_id,
    subject_patient,
    unprocessable,
    with_org_rxnorm,
)
from tandem.fhir.search import DateParam, ReferenceParam, Token, TokenParam
from tandem.lib.timezones import local_date
from tandem.medications.actions import EARLY_LOGGING, LATE_LOGGING, MedicationError, do_log_dose
from tandem.medications.models import DoseLog, DoseStatus, Regimen, RegimenStatus, ScheduleKind
from tandem.medications.queries import patient_due_doses
from tandem.patients.models import Category, Patient

NAME = "MedicationAdministration"
STATUS = "http://terminology.hl7.org/CodeSystem/medication-admin-status"
CATEGORY = "http://terminology.hl7.org/CodeSystem/medication-admin-category"
DONE = (DoseStatus.TAKEN, DoseStatus.TAKEN_LATE, DoseStatus.AS_NEEDED)
# The action's fields → the element of the resource to name.
ELEMENTS = {
    "regimen": "request",
    "status": "status",
    "due_at": "effectiveDateTime",
    "taken_at": "effectiveDateTime",
    "idempotency_key": "identifier",
}


def dose_key(label: str) -> str:
    """The idempotency key of an identifier ("system|value", "|value" without a system)."""
    return "fhir:" + hashlib.sha256(label.encode()).hexdigest()[:40]


def _identifier_q(token: Token) -> Q:
    return Q(idempotency_key=dose_key(f"{token.system or ''}|{token.code}"))


def _status_q(token: Token) -> Q:
    if token.system not in (None, STATUS):
        return NOTHING
    return {
        "": Q(),
        "completed": Q(status__in=DONE),
        "not-done": Q(status=DoseStatus.SKIPPED),
    }.get(token.code, NOTHING)


def may_log(caller: Caller, patient: Patient) -> str | None:
    return "patient" if caller.own_patient_id == patient.pk else None


def scheduled_dose(patient: Patient, regimen: Regimen, moment: datetime) -> datetime | None:
    """The scheduled dose a dose taken (or skipped) at `moment` is for: the latest due at most
    EARLY_LOGGING after it and at most LATE_LOGGING before it."""
    day = local_date(moment, patient.time_zone)
    due = [
        d.due_at
        for d in patient_due_doses(patient, day - timedelta(days=2), day + timedelta(days=1), [regimen.pk])
        if moment - LATE_LOGGING <= d.due_at <= moment + EARLY_LOGGING
    ]
    return max(due, default=None)


@register
class MedicationAdministrationType(ResourceType):
    name = NAME
    need = Category.MEDICATIONS
    patient_field = "patient_id"
    interactions = ("read", "search-type", "create")
    conditional_create = True
    params = (
        *patient_params(),
        TokenParam("status", q=_status_q, doc="completed (taken) or not-done (skipped)"),
        TokenParam("code", q=lambda t: code_q(t, "regimen__drug_key"), doc="RxNorm or Tandem's drug key"),
        DateParam("effective-time", "effective_at", doc="when taken; when due for a skipped dose"),
        ReferenceParam("request", "regimen_id", target="MedicationRequest"),
        TokenParam("identifier", q=_identifier_q, doc="the identifier a dose was created with: system|value"),
    )
    sorts = {"_id": "pk", "effective-time": "effective_at", "_lastUpdated": "logged_at"}
    default_sort = ("-effective_at",)
    includes = {
        "MedicationAdministration:patient": Include("Patient", lambda d: [str(d.patient_id)]),
        "MedicationAdministration:subject": Include("Patient", lambda d: [str(d.patient_id)]),
        "MedicationAdministration:request": Include("MedicationRequest", lambda d: [str(d.regimen_id)]),
    }
    last_updated = "logged_at"
    documentation = "Doses the patient logged; create logs one (the patient's own token)."

    def queryset(self, caller: Caller) -> QuerySet[Any]:
        return self._loaded(DoseLog.objects.filter(visible(caller, Category.MEDICATIONS)))

    def _loaded(self, rows: QuerySet[DoseLog]) -> QuerySet[Any]:
        rows = (
            rows.select_related("regimen")
            .annotate(effective_at=Coalesce("taken_at", "due_at", "logged_at"))
            .defer("regimen__drug_classes", "regimen__indication")
        )
        return with_org_rxnorm(rows, "regimen__drug_key").annotate(
            portal_user_id=F("patient__portal_user_id")
        )

    def to_fhir(self, log: DoseLog) -> dict[str, Any]:
        done = log.status != DoseStatus.SKIPPED
        resource: dict[str, Any] = {
            "resourceType": NAME,
            "id": str(log.pk),
            "meta": {"lastUpdated": instant(log.logged_at)},
            "status": "completed" if done else "not-done",
        }
        if not done:
            resource["statusReason"] = [{"text": log.reason or "Skipped"}]
        resource |= {
            "category": {"coding": [{"system": CATEGORY, "code": "community", "display": "Community"}]},
            "medicationCodeableConcept": medication_concept(
                log.regimen.drug_key,
                log.regimen.drug_name,
                log.org_rxnorm,  # type: ignore[attr-defined]
            ),
            "subject": ref("Patient", log.patient_id),
            "effectiveDateTime": instant(log.effective_at),  # type: ignore[attr-defined]
        }
        if log.logged_by_id is not None and log.logged_by_id == log.portal_user_id:  # type: ignore[attr-defined]
            resource["performer"] = [{"actor": ref("Patient", log.patient_id)}]
        if done and log.reason:
            resource["reasonCode"] = [{"text": log.reason}]
        resource["request"] = ref("MedicationRequest", log.regimen_id)
        return resource

    def create(self, request: HttpRequest, caller: Caller, body: dict[str, Any]) -> tuple[Any, bool]:
        check_structure(MedicationAdministration, body, NAME)
        patient, role = subject_patient(request, caller, body, NAME, may_log)
        status = body.get("status")
        if status not in ("completed", "not-done"):
            raise unprocessable(NAME, "status", "must be completed (taken) or not-done (skipped).")
        text = body.get("effectiveDateTime")
        moment = parse_moment(text, patient.time_zone) if isinstance(text, str) and "T" in text else None
        if moment is None:
            raise unprocessable(
                NAME,
                "effectiveDateTime",
                "is required: when the dose was taken, with its time zone.",
                "required",
            )
        regimen = self._regimen(patient, body)
        version = (
            regimen.versions.filter(effective_at__lte=moment).order_by("-effective_at", "-number").first()
        )
        if version is None or version.status != RegimenStatus.ACTIVE:
            raise unprocessable(NAME, "request", "the medication was not active at that time.")
        due_at: datetime | None = None
        if version.schedule_kind == ScheduleKind.AS_NEEDED:
            if status == "not-done":
                raise unprocessable(NAME, "status", "an as-needed medicine has no scheduled dose to skip.")
            kind, reason, reason_at = DoseStatus.AS_NEEDED, first_text(body.get("reasonCode")), "reasonCode"
        else:
            due_at = scheduled_dose(patient, regimen, moment)
            if due_at is None:
                raise unprocessable(
                    NAME, "effectiveDateTime", "is not near a scheduled dose of this medication."
                )
            if status == "completed":
                kind, reason, reason_at = DoseStatus.TAKEN, "", "reasonCode"
            else:
                kind, reason, reason_at = (
                    DoseStatus.SKIPPED,
                    first_text(body.get("statusReason")),
                    "statusReason",
                )
        try:
            log, created = do_log_dose(
                patient,
                regimen,
                status=kind,
                due_at=due_at,
                taken_at=moment if kind != DoseStatus.SKIPPED else None,
                reason=reason,
                idempotency_key=self._key(body, regimen, status, moment, reason),
                acting_user=caller.user,
                role=role,
                request=request,
            )
        except MedicationError as exc:
            if exc.field == "due_at" and "already recorded" in str(exc):
                raise FhirError(
                    409, "conflict", f"{NAME}: {exc} (another record of the same dose).", expression=NAME
                ) from None
            element = reason_at if exc.field == "reason" else ELEMENTS.get(exc.field, exc.field)
            raise unprocessable(NAME, element, f"{exc}.") from None
        return self._loaded(DoseLog.objects.filter(pk=log.pk)).get(), created

    def _regimen(self, patient: Patient, body: dict[str, Any]) -> Regimen:
        drug = drug_for_concept(patient, body.get("medicationCodeableConcept"))
        if body.get("request") is not None:
            regimen_id = reference_id(body["request"], "MedicationRequest")
            regimen = (
                Regimen.objects.filter(pk=regimen_id, patient=patient).first()
                if regimen_id is not None
                else None
            )
            if regimen is None:
                raise unprocessable(NAME, "request", "names no MedicationRequest of this patient.")
            if drug is not None and drug.key != regimen.drug_key:
                raise unprocessable(
                    NAME,
                    "medicationCodeableConcept",
                    f"is not the medicine of MedicationRequest/{regimen.pk}.",
                )
            return regimen
        if drug is None:
            raise unprocessable(
                NAME,
                "request",
                "is required unless medicationCodeableConcept names (by RxNorm) one of the patient's medicines.",
                "required",
            )
        found = list(
            Regimen.objects.filter(
                patient=patient, drug_key=drug.key, status__in=[RegimenStatus.ACTIVE, RegimenStatus.HELD]
            )[:2]
        )
        if len(found) != 1:
            raise unprocessable(
                NAME,
                "request",
                "is required: the patient takes this medicine "
                + ("under more than one prescription." if found else "under no current prescription."),
                "required",
            )
        return found[0]

    def _key(self, body: dict[str, Any], regimen: Regimen, status: str, moment: datetime, reason: str) -> str:
        for identifier in body.get("identifier") or []:
            if identifier.get("value"):
                return dose_key(f"{identifier.get('system') or ''}|{identifier['value']}")
        content = [regimen.pk, status, moment.astimezone(UTC).isoformat(), reason]
        return "fhir-c:" + hashlib.sha256(json.dumps(content).encode()).hexdigest()[:40]
