"""Demo medications: regimens with their titration history, 30 days of dose logs with realistic
patterns (good, declining, erratic), monthly fills and a few vitals; then demo_extra.py adds side
effects, laboratory results and prescribing checks overridden."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from tandem.accounts.models import Role
from tandem.core.seeding import DemoContext
from tandem.lib.timezones import local_date
from tandem.medications import demo_extra
from tandem.medications.actions import do_change_regimen, do_start_regimen
from tandem.medications.models import DoseLog, DoseStatus, Fill, FillSource, LabResult, Regimen
from tandem.medications.queries import patient_due_doses
from tandem.patients.models import CareTeamMember, Patient
from tandem.plans.models import TreatmentPlan

# Per diagnosis code of the demo plans: drug key, class, start mg, later mg, times.
REGIMENS = {
    "F33.1": ("sertraline", "ssri", 50, 100, ["08:00"]),
    "F32.1": ("escitalopram", "ssri", 10, 20, ["08:00"]),
    "F41.1": ("sertraline", "ssri", 25, 50, ["08:00"]),
    "F33.2": ("venlafaxine", "snri", 75, 150, ["08:00"]),
    "F43.10": ("sertraline", "ssri", 50, 100, ["21:00"]),
    "F31.81": ("lamotrigine", "mood_stabiliser", 25, 50, ["08:00"]),
}
PATTERNS = ["good", "good", "declining", "good", "erratic", "good", "good", "declining"]


def build(ctx: DemoContext) -> None:
    if not Regimen.objects.filter(patient__organisation=ctx.orgs["demo-clinic"]).exists():
        _regimens(ctx)
    demo_extra.build(ctx)


def _regimens(ctx: DemoContext) -> None:
    rng = random.Random(4242)
    now = timezone.now()
    plans = {p.patient_id: p for p in TreatmentPlan.objects.filter(status="active").select_related("current")}
    patients = Patient.objects.filter(organisation=ctx.orgs["demo-clinic"]).order_by("mrn")
    for i, patient in enumerate(patients):
        plan = plans.get(patient.pk)
        if plan is None or plan.current is None:
            continue
        code = plan.current.content["problems"][0]["code"]
        key, drug_class, first_mg, second_mg, times = REGIMENS[code]
        prescriber = (
            CareTeamMember.objects.filter(patient=patient, role=Role.PRESCRIBER, end__isnull=True)
            .select_related("user")
            .first()
        )
        if prescriber is None:
            continue
        weeks = 6 if i == 0 else 3 + (i * 3) % 20  # Maya: titrated, as her plan says
        started = now - timedelta(weeks=weeks)
        regimen = do_start_regimen(
            patient,
            drug_key=key,
            drug_name=key,
            drug_classes=[drug_class],
            dose_amount=first_mg,
            times=times,
            reason="Start, agreed in the joint plan",
            indication=plan.current.content["problems"][0]["text"],
            acting_user=prescriber.user,
            role=Role.PRESCRIBER,
            effective_at=started,
        )
        if weeks >= 4:
            do_change_regimen(
                regimen,
                kind="increase",
                dose_amount=Decimal(second_mg),
                reason="PHQ-9 fell less than 20% by week 4",
                acting_user=prescriber.user,
                role=Role.PRESCRIBER,
                effective_at=started + timedelta(weeks=3),
            )
        _doses(patient, regimen, PATTERNS[i % len(PATTERNS)], rng, now, keep_today=i == 0)
        _fills(patient, regimen, drug_class, started, now, PATTERNS[i % len(PATTERNS)])
        ctx.count("regimens")
        if key == "lamotrigine" or i % 5 == 0:
            LabResult.objects.create(
                patient=patient,
                kind="weight",
                value=Decimal(70 + i % 25),
                unit="kg",
                observed_at=started,
                entered_by=prescriber.user,
            )
            LabResult.objects.create(
                patient=patient,
                kind="bp_systolic",
                value=Decimal(118 + i % 20),
                unit="mmHg",
                observed_at=started,
                entered_by=prescriber.user,
            )


def _doses(
    patient: Patient, regimen: Regimen, pattern: str, rng: random.Random, now: datetime, *, keep_today: bool
) -> None:
    today = local_date(now, patient.time_zone)
    due = [
        d
        for d in patient_due_doses(patient, today - timedelta(days=30), today, regimen_ids=[regimen.pk])
        if d.due_at <= now
    ]
    logs = []
    for n, dose in enumerate(due):
        if keep_today and local_date(dose.due_at, patient.time_zone) == today:
            continue  # Maya's dose of today waits for her in the portal
        progress = n / max(1, len(due) - 1)
        chance = {"good": 0.95, "declining": 0.95 - 0.6 * progress, "erratic": 0.6}[pattern]
        roll = rng.random()
        if roll < chance:
            late = rng.random() < 0.15
            status = DoseStatus.TAKEN_LATE if late else DoseStatus.TAKEN
            taken = dose.due_at + timedelta(minutes=rng.randint(90, 240) if late else rng.randint(0, 40))
            logs.append(
                DoseLog(
                    patient=patient,
                    regimen=regimen,
                    due_at=dose.due_at,
                    status=status,
                    taken_at=taken,
                    logged_at=taken,
                    logged_by=patient.portal_user,
                    idempotency_key=f"demo-{regimen.pk}-{n}",
                )
            )
        elif roll < chance + 0.1:
            logs.append(
                DoseLog(
                    patient=patient,
                    regimen=regimen,
                    due_at=dose.due_at,
                    status=DoseStatus.SKIPPED,
                    reason=rng.choice(["Felt sick", "Ran out", "Forgot my pills at home"]),
                    logged_at=dose.due_at + timedelta(hours=3),
                    idempotency_key=f"demo-{regimen.pk}-{n}",
                )
            )
        # otherwise nothing was logged: a missed dose
    DoseLog.objects.bulk_create(logs)


def _fills(
    patient: Patient, regimen: Regimen, drug_class: str, started: datetime, now: datetime, pattern: str
) -> None:
    day = started.date()
    fills = []
    gap = {"good": 1, "declining": 9, "erratic": 14}[pattern]
    while day <= now.date():
        fills.append(
            Fill(
                patient=patient,
                regimen=regimen,
                drug_key=regimen.drug_key,
                drug_name=regimen.drug_name,
                drug_class=drug_class,
                fill_date=day,
                days_supply=30,
                source=FillSource.STAFF,
            )
        )
        day += timedelta(days=30 + gap)
    Fill.objects.bulk_create(fills)
