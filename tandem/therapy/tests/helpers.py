"""Building sessions in tests: through the actions, at local times of the patient."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils import timezone

from tandem.therapy.actions import do_schedule_sessions
from tandem.therapy.models import Session, SessionStatus


def local_day(patient, days: int = 0):
    return timezone.localtime(timezone.now(), patient.tz).date() + timedelta(days=days)


def schedule(
    personas, days: int = 7, hour: int = 10, *, patient=None, clinician=None, kind="therapy", **extra
):
    """One session (or a series with repeat=True) `days` from today at `hour`:00 local."""
    patient = patient or personas.patient
    clinician = clinician or (personas.therapist if kind == "therapy" else personas.prescriber)
    done = do_schedule_sessions(
        patient,
        clinician=clinician,
        kind=kind,
        day=local_day(patient, days),
        wall=time(hour, 0),
        acting_user=extra.pop("acting_user", clinician),
        **extra,
    )
    return done


def past_session(personas, days_ago: int, status: str = SessionStatus.SCHEDULED, *, kind="therapy", hour=10):
    """A session `days_ago` days back, with `status` recorded directly (for attendance data)."""
    clinician = personas.therapist if kind == "therapy" else personas.prescriber
    starts_at = timezone.now().replace(microsecond=0) - timedelta(days=days_ago) + timedelta(minutes=hour)
    changed = starts_at + timedelta(hours=1) if status != SessionStatus.SCHEDULED else None
    return Session.objects.create(
        patient=personas.patient,
        clinician=clinician,
        kind=kind,
        starts_at=starts_at,
        status=status,
        status_changed_at=changed,
    )


def at(patient, days: int, hour: int, minute: int = 0) -> datetime:
    day = local_day(patient, days)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=patient.tz)
