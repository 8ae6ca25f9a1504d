"""Who may see and change sessions.

Readers: the care team and clinicians consented for "therapy_summaries" (Category.THERAPY_SUMMARIES).
Schedulers: the therapist, the prescriber and the care manager on the team (the consultant
reads). Attendance (attended, no-show) is recorded by the session's own clinician or the care
manager; any scheduler may cancel or move a session. The patient sees their own sessions in the
portal and may cancel one of theirs.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest

from tandem.accounts.models import Role
from tandem.audit.access import record_denied
from tandem.patients.access import PatientGrant, access_patient, audit_patient_read
from tandem.patients.models import Category
from tandem.therapy.models import Session, SessionSeries

SCHEDULER_ROLES = frozenset({Role.THERAPIST, Role.PRESCRIBER, Role.CARE_MANAGER})
ENTITY = "Encounter"


def may_schedule(grant: PatientGrant) -> bool:
    return grant.basis == "care_team" and grant.role in SCHEDULER_ROLES


def may_record_attendance(grant: PatientGrant, session: Session, user: Any) -> bool:
    """The session's own clinician, or the care manager who keeps the team's schedule."""
    if not may_schedule(grant):
        return False
    return session.clinician_id == user.pk or grant.role == Role.CARE_MANAGER


def access_therapy_patient(
    request: HttpRequest, patient_id: Any, *, schedule: bool = False, entity: str = ENTITY
) -> PatientGrant:
    grant = access_patient(
        request, patient_id, need=Category.THERAPY_SUMMARIES, entity=entity, audit_read=False
    )
    if schedule and not may_schedule(grant):
        record_denied(request, entity, patient_id, patient=grant.patient)
        raise Http404
    audit_patient_read(
        request, grant, entity=entity, need="schedule" if schedule else Category.THERAPY_SUMMARIES
    )
    return grant


def _pk(raw: Any) -> int | None:
    text = str(raw)
    return int(text) if text.isdigit() and len(text) < 19 else None


def access_session(grant: PatientGrant, request: HttpRequest, session_id: Any) -> Session:
    """One session of the grant's patient; 404 (audited) for another patient's or a missing id."""
    pk = _pk(session_id)
    session = (
        Session.objects.filter(pk=pk, patient=grant.patient).select_related("clinician", "series").first()
        if pk is not None
        else None
    )
    if session is None:
        record_denied(request, ENTITY, session_id, patient=grant.patient)
        raise Http404
    return session


def access_series(grant: PatientGrant, request: HttpRequest, series_id: Any) -> SessionSeries:
    pk = _pk(series_id)
    series = SessionSeries.objects.filter(pk=pk, patient=grant.patient).first() if pk is not None else None
    if series is None:
        record_denied(request, "EncounterSeries", series_id, patient=grant.patient)
        raise Http404
    return series


def access_own_session(request: HttpRequest, session_id: Any) -> Session:
    """One of the signed-in patient's own sessions; 404 (audited) for anybody else's or a missing id."""
    pk = _pk(session_id)
    session = None
    if pk is not None and request.user.is_authenticated:
        session = (
            Session.objects.select_related("patient__organisation", "clinician")
            .filter(pk=pk, patient__portal_user_id=request.user.pk, patient__is_active=True)
            .first()
        )
    if session is None:
        record_denied(request, ENTITY, session_id)
        raise Http404
    return session
