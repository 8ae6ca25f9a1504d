"""The therapy app's URLs in the access matrix (tests/test_access_matrix.py)."""

from __future__ import annotations

from datetime import time, timedelta

from django.utils import timezone

TEAM = {"prescriber", "therapist", "care_manager", "consultant"}
SCHEDULERS = {"prescriber", "therapist", "care_manager"}  # the consultant reads

# Sessions are therapy summaries: the team reads (the personas' consent does not cover them).
PATIENT_SCOPED = {
    "therapy:overview": ("GET", TEAM),
    "therapy:session": ("GET", TEAM),
    "therapy:schedule": ("GET", SCHEDULERS),
    "therapy:status": ("POST", SCHEDULERS),
    "therapy:move": ("POST", SCHEDULERS),
    "therapy:cancel_series": ("POST", SCHEDULERS),
}
PORTAL = {"portal_therapy:sessions"}
# Cancelling one's own appointment: tandem/therapy/tests/test_portal.py.
PORTAL_POST = {"portal_therapy:cancel"}


def kwargs(personas, name: str) -> dict | None:
    if not name.startswith("therapy:"):
        return None
    from tandem.therapy.actions import do_schedule_sessions

    found: dict = {"patient_id": personas.patient.pk}
    if name in ("therapy:overview", "therapy:schedule"):
        return found
    day = timezone.localtime(timezone.now(), personas.patient.tz).date() + timedelta(days=7)
    done = do_schedule_sessions(
        personas.patient,
        clinician=personas.therapist,
        kind="therapy",
        day=day,
        wall=time(10, 0),
        repeat=True,
        count=3,
        acting_user=personas.therapist,
    )
    if name == "therapy:cancel_series":
        assert done.series is not None
        return {**found, "series_id": done.series.pk}
    return {**found, "session_id": done.first.pk}
