"""A patient's course for the treat-to-target tests: a regimen, fills, doses, sessions, scores."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from tandem.accounts.models import Role
from tandem.measures.actions import do_record_response
from tandem.measures.definitions import get
from tandem.measures.tests.helpers import answers, values_for_total
from tandem.medications.actions import do_start_regimen
from tandem.medications.models import DoseLog, DoseStatus, Fill, FillSource, Regimen
from tandem.medications.queries import patient_due_doses
from tandem.therapy.models import Session, SessionStatus


def start_sertraline(personas, started: datetime, mg: int = 50) -> Regimen:
    return do_start_regimen(
        personas.patient,
        drug_key="sertraline",
        drug_name="sertraline",
        drug_classes=["ssri"],
        dose_amount=mg,
        times=["08:00"],
        reason="Start",
        acting_user=personas.prescriber,
        role=Role.PRESCRIBER,
        effective_at=started,
    )


def monthly_fills(patient, regimen: Regimen, first: datetime, count: int = 6, gap: int = 0) -> None:
    day = first.date()
    for _ in range(count):
        Fill.objects.create(
            patient=patient,
            regimen=regimen,
            drug_key="sertraline",
            drug_name="sertraline",
            drug_class="ssri",
            fill_date=day,
            days_supply=30,
            source=FillSource.STAFF,
        )
        day += timedelta(days=30 + gap)


def log_doses(patient, regimen: Regimen, now: datetime, taken_every: int = 1) -> None:
    """Logs the last 30 days' doses: every one taken (taken_every=1), or one in `taken_every`."""
    today = timezone.localtime(now, patient.tz).date()
    due = [d for d in patient_due_doses(patient, today - timedelta(days=30), today) if d.due_at <= now]
    DoseLog.objects.bulk_create(
        DoseLog(
            patient=patient,
            regimen=regimen,
            due_at=d.due_at,
            status=DoseStatus.TAKEN,
            taken_at=d.due_at,
            idempotency_key=f"t-{n}",
        )
        for n, d in enumerate(due)
        if n % taken_every == 0
    )


def sessions(personas, first: datetime, attended: int, missed: int = 0) -> None:
    for n in range(attended + missed):
        Session.objects.create(
            patient=personas.patient,
            clinician=personas.therapist,
            starts_at=first + timedelta(weeks=n),
            status=SessionStatus.ATTENDED if n < attended else SessionStatus.NO_SHOW,
        )


def score(personas, instrument: str, total: int, at: datetime, key: str) -> None:
    defn = get(instrument)
    do_record_response(
        personas.patient,
        instrument=instrument,
        answers=answers(instrument, values_for_total(defn, total)),
        administered_by="patient",
        source="portal",
        idempotency_key=f"t2t-test-{instrument}-{key}",
        acting_user=personas.patient_user,
        authored_at=at,
        now=at + timedelta(minutes=1),
    )


def amount(value: int) -> Decimal:
    return Decimal(value)
