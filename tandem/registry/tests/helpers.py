"""A hand-built patient course for the registry tests, relative to the patient's today."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from tandem.collab.models import Alert, AlertStatus
from tandem.lib.timezones import at_local, local_date
from tandem.measures.models import TreatmentSignal
from tandem.patients.models import CareTeamMember, Patient


def patient_today(patient: Patient) -> date:
    return local_date(timezone.now(), patient.time_zone)


def at(patient: Patient, days_ago: int, hour: int = 10) -> datetime:
    return at_local(patient_today(patient) - timedelta(days=days_ago), time(hour), patient.time_zone)


def enrol(patient: Patient, days_ago: int) -> None:
    CareTeamMember.objects.filter(patient=patient).update(
        start=patient_today(patient) - timedelta(days=days_ago)
    )


def signal(
    patient: Patient, instrument: str, state: str, *, improvement: int | None = None
) -> TreatmentSignal:
    return TreatmentSignal.objects.update_or_create(
        patient=patient,
        instrument=instrument,
        defaults={"state": state, "improvement_percent": improvement, "computed_at": timezone.now()},
    )[0]


def alert(patient: Patient, key: str, status: str = AlertStatus.OPEN) -> Alert:
    return Alert.objects.create(
        patient=patient, kind="test", severity="routine", title="t", reason="r", rule_id="test",
        dedup_key=key, status=status,
    )  # fmt: skip
