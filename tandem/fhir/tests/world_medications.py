"""Medication records around Pat (and one of each for Oli), made through the medications
actions: regimens with their changes and the prescribing checks shown, doses logged, fills and
side-effect reports. Everything is dated relative to now, as dose logging must be."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from tandem.lib.timezones import local_date
from tandem.medications import catalog
from tandem.medications.actions import do_change_regimen, do_log_dose, do_start_regimen
from tandem.medications.checks import findings_for
from tandem.medications.fills import do_record_fill
from tandem.medications.models import Regimen
from tandem.medications.queries import patient_due_doses
from tandem.medications.side_effect_actions import do_report_side_effect

TEAM = {"prescriber", "therapist", "care_manager", "consultant"}
MEDICATION_READERS = TEAM | {"consented", "patient"}
TYPES = (
    "MedicationRequest",
    "MedicationStatement",
    "MedicationDispense",
    "MedicationAdministration",
    "AdverseEvent",
    "DetectedIssue",
)
SEES_PAT = dict.fromkeys(TYPES, MEDICATION_READERS)


def start(patient: Any, user: Any, key: str, dose: int, days_ago: int, **extra: Any) -> Regimen:
    drug = catalog.get(key)
    daily = None if extra.get("schedule_kind") == "prn" else dose * len(extra.get("times", ["08:00"]))
    findings = findings_for(patient, drug, daily, change="start")
    return do_start_regimen(
        patient,
        drug_key=drug.key,
        drug_name=drug.name,
        drug_classes=list(drug.classes),
        dose_amount=dose,
        reason=f"Start {drug.name}",
        acting_user=user,
        role="prescriber",
        findings=findings,
        override_reason="Benefit outweighs the risk; reviewed with the patient"
        if any(f["requires_override_reason"] for f in findings)
        else "",
        effective_at=timezone.now() - timedelta(days=days_ago),
        **{"times": ["08:00"], **extra},
    )


def recent_doses(patient: Any, regimen: Regimen, count: int) -> list[Any]:
    """The last `count` scheduled doses already due, latest first (all within 40 hours)."""
    now = timezone.now()
    today = local_date(now, patient.time_zone)
    due = [
        d.due_at
        for d in patient_due_doses(patient, today - timedelta(days=2), today, [regimen.pk])
        if now - timedelta(hours=40) < d.due_at <= now
    ]
    return sorted(due, reverse=True)[:count]


def build(personas: Any, world: Any) -> None:
    pat, prescriber, me = personas.patient, personas.prescriber, personas.patient_user
    now = timezone.now()
    citalopram = start(pat, prescriber, "citalopram", 60, 90, indication="Depression")
    do_change_regimen(
        citalopram,
        kind="stop",
        reason="Not enough effect",
        acting_user=prescriber,
        role="prescriber",
        effective_at=now - timedelta(days=40),
    )
    sertraline = start(
        pat, prescriber, "sertraline", 50, 30, times=["08:00", "20:00"], indication="Depression"
    )
    do_change_regimen(
        sertraline,
        kind="increase",
        dose_amount=100,
        reason="Partial response",
        acting_user=prescriber,
        role="prescriber",
        effective_at=now - timedelta(days=10),
    )
    tramadol = start(pat, prescriber, "tramadol", 50, 5, indication="Back pain")
    do_change_regimen(
        tramadol,
        kind="hold",
        reason="Pain settled",
        acting_user=prescriber,
        role="prescriber",
        effective_at=now - timedelta(days=1),
    )
    hydroxyzine = start(
        pat,
        prescriber,
        "hydroxyzine",
        25,
        20,
        schedule_kind="prn",
        times=[],
        prn_max_per_day=3,
        indication="Anxiety",
    )
    lithium = start(pat, prescriber, "lithium", 300, 3, times=["08:00", "20:00"], indication="Bipolar II")
    latest, earlier = recent_doses(pat, sertraline, 2)
    taken, _ = do_log_dose(
        pat,
        sertraline,
        status="taken",
        due_at=latest,
        taken_at=min(latest + timedelta(minutes=5), now),
        idempotency_key="world-dose-taken",
        acting_user=me,
    )
    skipped, _ = do_log_dose(
        pat,
        sertraline,
        status="skipped",
        due_at=earlier,
        reason="Felt sick",
        idempotency_key="world-dose-skipped",
        acting_user=me,
    )
    prn, _ = do_log_dose(
        pat,
        hydroxyzine,
        status="prn",
        taken_at=now - timedelta(hours=1),
        reason="Anxious before work",
        idempotency_key="world-dose-prn",
        acting_user=me,
    )
    today = local_date(now, pat.time_zone)
    fills = [
        do_record_fill(
            pat,
            regimen_or_drug=sertraline,
            fill_date=today - timedelta(days=days),
            days_supply=30,
            quantity=60,
            source=source,
            external_id=ext,
            acting_user=prescriber,
            role="prescriber",
        )[0]
        for days, source, ext in ((35, "staff", "form:world-1"), (5, "import", "urn:pharmacy|RX-1"))
    ]
    mild, _ = do_report_side_effect(
        pat,
        regimen=sertraline,
        frequency=2,
        intensity=2,
        burden=2,
        symptoms=["nausea", "headache"],
        text="",
        idempotency_key="world-se-mild",
        acting_user=me,
        now=now - timedelta(days=20),
    )
    heavy, _ = do_report_side_effect(
        pat,
        regimen=None,
        frequency=5,
        intensity=5,
        burden=5,
        symptoms=["sleep"],
        text="",
        idempotency_key="world-se-heavy",
        acting_user=me,
        now=now - timedelta(days=2),
    )
    oli = personas.other_patient
    fluoxetine = start(oli, personas.colleague, "fluoxetine", 20, 15)
    oli_dose = recent_doses(oli, fluoxetine, 1)[0]
    do_log_dose(
        oli,
        fluoxetine,
        status="taken",
        due_at=oli_dose,
        taken_at=min(oli_dose, now),
        idempotency_key="world-oli-dose",
        acting_user=personas.other_patient_user,
    )
    do_record_fill(
        oli,
        regimen_or_drug=fluoxetine,
        fill_date=today,
        days_supply=30,
        source="patient",
        external_id="portal:world-oli",
        acting_user=personas.other_patient_user,
        role="patient",
    )
    do_report_side_effect(
        oli,
        regimen=fluoxetine,
        frequency=1,
        intensity=1,
        burden=1,
        symptoms=["headache"],
        text="",
        idempotency_key="world-oli-se",
        acting_user=personas.other_patient_user,
    )
    world.extra["medications"] = {
        "citalopram": citalopram,
        "sertraline": sertraline,
        "tramadol": tramadol,
        "hydroxyzine": hydroxyzine,
        "lithium": lithium,
        "fluoxetine": fluoxetine,
        "taken": taken,
        "skipped": skipped,
        "prn": prn,
        "fills": fills,
        "mild": mild,
        "heavy": heavy,
    }
