"""Side-effect reports: the patient reports, the rules triage, the prescriber is alerted (the
therapist gets a notice) and responds; the patient sees the response in the portal."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.models import Role, User
from tandem.audit.actions import audit_patient_event
from tandem.audit.models import Action
from tandem.collab.actions import do_raise_alert, do_resolve_alert
from tandem.collab.models import Alert, AlertStatus
from tandem.medications import catalog
from tandem.medications.actions import MedicationError
from tandem.medications.models import (
    OrgDrug,
    Regimen,
    RegimenStatus,
    SideEffectReport,
    SideEffectResponse,
)
from tandem.medications.side_effects import (
    FIBSER_ITEMS,
    FIBSER_MAX,
    SYMPTOMS,
    RegimenFacts,
    SideEffectInput,
    TriageFinding,
    overall_severity,
    symptom_labels,
    triage,
)
from tandem.patients.models import Patient

ALERT_KIND = "side_effect"
TEXT_MAX = 4000


def alert_dedup_key(report: SideEffectReport) -> str:
    return f"side_effect:{report.pk}"


def regimen_facts(regimens: Iterable[Regimen]) -> list[RegimenFacts]:
    """What triage needs to know of each regimen: the catalogue's ingredients and serotonergic
    flag for built-in drugs, the organisation's flag for its own, the name and classes always
    (triage also asks the classes, so a drug nobody flagged is still caught by its class).
    One query for the organisation's drugs, none otherwise."""
    regimens = list(regimens)
    org_ids = [
        int(r.drug_key[4:]) for r in regimens if r.drug_key.startswith("org:") and r.drug_key[4:].isdigit()
    ]
    org_drugs = {d.pk: d for d in OrgDrug.objects.filter(pk__in=org_ids)} if org_ids else {}
    facts = []
    for regimen in regimens:
        ingredients: tuple[str, ...] = ()
        serotonergic = False
        drug = _catalogue_drug(regimen.drug_key)
        if drug is not None:
            # MAO inhibitors (the maoi class of the fallback, and MAO-B inhibitors, linezolid)
            # count too: the catalogue flags them as MAO inhibitors rather than serotonergic.
            ingredients = tuple(drug.ingredients)
            serotonergic = drug.serotonergic or drug.mao_inhibitor
        elif regimen.drug_key.startswith("org:") and regimen.drug_key[4:].isdigit():
            own = org_drugs.get(int(regimen.drug_key[4:]))
            serotonergic = bool(own and own.serotonergic)
        facts.append(
            RegimenFacts(
                regimen_id=regimen.pk,
                drug_key=regimen.drug_key,
                drug_name=regimen.drug_name,
                drug_classes=tuple(regimen.drug_classes or ()),
                ingredients=ingredients,
                serotonergic=serotonergic,
            )
        )
    return facts


def _catalogue_drug(key: str) -> catalog.Drug | None:
    try:
        return catalog.get(key)
    except (KeyError, ValueError):  # an organisation's drug, or an empty free-text name
        return None


def _score(name: str, value: Any) -> int:
    text = str(value).strip()
    if not text.isdigit() or int(text) > FIBSER_MAX:
        raise MedicationError(name, f"choose a number from 0 to {FIBSER_MAX}")
    return int(text)


def _clean_symptoms(symptoms: Iterable[str]) -> list[str]:
    chosen = set(symptoms)
    unknown = sorted(chosen - set(SYMPTOMS))
    if unknown:
        raise MedicationError("symptoms", f"{unknown[0]!r} is not on the list")
    return [key for key in SYMPTOMS if key in chosen]


def _alert_text(patient: Patient, report: SideEffectReport, findings: list[TriageFinding]) -> tuple[str, str]:
    top = findings[0]
    drug = report.regimen.drug_name if report.regimen else "medicine not named"
    title = f"Side effect reported ({drug}): {top.title}"
    symptoms = ", ".join(symptom_labels(report.symptoms)) or "none ticked"
    why = " ".join(f"{f.title}: {f.reason} [{f.rule_id}; {f.confidence}]" for f in findings)
    reason = (
        f"{patient.name} reported a side effect. Suspected medicine: {drug}. Symptoms: {symptoms}. "
        f"FIBSER frequency {report.frequency}, intensity {report.intensity}, burden {report.burden} "
        f"(0–{FIBSER_MAX}).{' The patient added a description.' if report.text else ''} Why: {why}"
    )
    return title, reason


@transaction.atomic
def do_report_side_effect(
    patient: Patient,
    *,
    regimen: Regimen | None,
    frequency: Any,
    intensity: Any,
    burden: Any,
    symptoms: Iterable[str],
    text: str,
    idempotency_key: str,
    acting_user: User,
    request: HttpRequest | None = None,
    role: str = "patient",
    now: datetime | None = None,
) -> tuple[SideEffectReport, bool]:
    """Record a side effect, triage it and alert the prescriber; (report, created).

    The same idempotency key returns the first report, so a double submit records one report and
    raises one alert. The patient's current (active or held) regimens are triaged, whichever one
    they suspect, so a rash is urgent on lamotrigine even when they blame another medicine.
    """
    now = now or timezone.now()
    key = idempotency_key.strip()
    if not 8 <= len(key) <= 64:
        raise MedicationError("idempotency_key", "must be 8 to 64 characters")
    existing = SideEffectReport.objects.filter(patient=patient, idempotency_key=key).first()
    if existing is not None:
        return existing, False
    if regimen is not None and regimen.patient_id != patient.pk:
        raise MedicationError("regimen", "is not one of this patient's medicines")
    scores = {
        name: _score(name, value)
        for name, value in zip(FIBSER_ITEMS, (frequency, intensity, burden), strict=True)
    }
    chosen = _clean_symptoms(symptoms)
    text = text.strip()
    if len(text) > TEXT_MAX:
        raise MedicationError("text", f"is longer than {TEXT_MAX} characters")
    if "other" in chosen and not text:
        raise MedicationError("text", "describe the other symptom")
    if not chosen and not text:
        raise MedicationError("symptoms", "tick at least one symptom, or describe it below")
    current = Regimen.objects.filter(
        patient=patient, status__in=[RegimenStatus.ACTIVE, RegimenStatus.HELD]
    ).order_by("pk")
    findings = triage(
        SideEffectInput(
            symptoms=frozenset(chosen), text=text, regimen_id=regimen.pk if regimen else None, **scores
        ),
        regimen_facts(current),
    )
    severity = overall_severity(findings)
    try:
        with transaction.atomic():
            report = SideEffectReport.objects.create(
                patient=patient,
                regimen=regimen,
                symptoms=chosen,
                text=text,
                severity=severity,
                triage=[f.as_dict() for f in findings],
                reported_at=now,
                reported_by=acting_user,
                idempotency_key=key,
                **scores,
            )
    except IntegrityError:
        # A concurrent retry with the same key won the race.
        return SideEffectReport.objects.get(patient=patient, idempotency_key=key), False
    audit_patient_event(
        acting_user,
        Action.CREATE,
        "SideEffectReport",
        report.pk,
        patient,
        request=request,
        role=role,
        severity=severity,
        rules=[f.rule_id for f in findings],
        regimen=regimen.pk if regimen else None,
    )
    title, reason = _alert_text(patient, report, findings)
    do_raise_alert(
        patient,
        kind=ALERT_KIND,
        severity=severity,
        title=title,
        reason=reason,
        rule_id=findings[0].rule_id,
        source=findings[0].source,
        dedup_key=alert_dedup_key(report),
        route_to=[Role.PRESCRIBER],
        notify_roles=[Role.THERAPIST],
        subject=report,
        link=reverse("medications:side_effect", kwargs={"patient_id": patient.pk, "report_id": report.pk}),
    )
    return report, True


def open_alerts(report: SideEffectReport) -> list[Alert]:
    return list(
        Alert.objects.filter(patient_id=report.patient_id, dedup_key=alert_dedup_key(report)).exclude(
            status=AlertStatus.RESOLVED
        )
    )


@transaction.atomic
def do_respond_to_side_effect(
    report: SideEffectReport,
    *,
    response: str,
    note: str,
    acting_user: User,
    role: str,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> tuple[SideEffectReport, bool]:
    """The prescriber's response (continue, adjust, stop, see), which the patient reads in the
    portal; resolves the report's alert with the note. (report, changed): the same response
    sent twice (a double submit) changes nothing; a different one after it is refused."""
    if role != Role.PRESCRIBER:
        raise MedicationError("role", "only the prescriber responds to a side effect")
    report = (
        SideEffectReport.objects.select_for_update(of=("self",))
        .select_related("patient", "responded_by")
        .get(pk=report.pk)
    )
    if response not in SideEffectResponse.values:
        raise MedicationError("response", "choose one of the responses")
    note = note.strip()
    if not note:
        raise MedicationError("note", "write what the patient should know; they read it in the portal")
    if len(note) > TEXT_MAX:
        raise MedicationError("note", f"is longer than {TEXT_MAX} characters")
    if report.response:
        if report.response == response and report.response_note == note:
            return report, False
        who = report.responded_by.display_name if report.responded_by else "someone"
        raise MedicationError("response", f"was already recorded by {who}")
    report.response = response
    report.response_note = note
    report.responded_by = acting_user
    report.responded_at = now or timezone.now()
    report.save(update_fields=["response", "response_note", "responded_by", "responded_at"])
    audit_patient_event(
        acting_user,
        Action.UPDATE,
        "SideEffectReport",
        report.pk,
        report.patient,
        request=request,
        role=role,
        change="responded",
        response=response,
    )
    label = SideEffectResponse(response).label
    for alert in open_alerts(report):
        do_resolve_alert(alert, note=f"{label}: {note}", acting_user=acting_user, role=role, request=request)
    return report, True
