"""Who may see visit feedback and check-ins.

Visit feedback is the patient's word about one clinician, so it has the narrowest audience in
Tandem: that visit's clinician and the patient's care manager(s), both while on the care team.
Not the rest of the team, not the consultant, not the organisation's administrator, not a
clinician with a consent or with emergency access. Everybody else gets 404, audited, exactly
like a missing id. A clinician sees the feedback on their own visits; a care manager sees every
clinician's.

Check-ins are for the whole care team (and clinicians consented for therapy summaries), like
the rest of the therapy record. The patient sees and answers their own in the portal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from tandem.accounts.models import Role
from tandem.audit.access import record_denied
from tandem.feedback.models import FeedbackStatus, VisitFeedback
from tandem.patients.access import PatientGrant, access_patient, audit_patient_read
from tandem.patients.models import CareTeamMember, Category, Patient, active_on
from tandem.therapy.models import Session, SessionKind, SessionStatus

FEEDBACK_ENTITY = "VisitFeedback"
CHECKIN_ENTITY = "CheckIn"
# How long after a visit the patient is asked about it.
FEEDBACK_WINDOW_DAYS = 14
FEEDBACK_KINDS = (SessionKind.THERAPY, SessionKind.MEDICATION)


@dataclass(frozen=True)
class FeedbackGrant:
    grant: PatientGrant
    user_id: int
    all_pairs: bool  # a care manager: every clinician's feedback

    @property
    def patient(self) -> Patient:
        return self.grant.patient


def _is_care_manager(user: Any, patient: Patient) -> bool:
    return CareTeamMember.objects.filter(
        active_on(timezone.localdate()), patient=patient, user=user, role=Role.CARE_MANAGER
    ).exists()


def feedback_viewer(user: Any, grant: PatientGrant) -> FeedbackGrant | None:
    """The viewer's reach into the patient's visit feedback, or None for no access at all:
    on the care team AND (a care manager of the patient OR the clinician of one of their visits)."""
    if grant.basis != "care_team":
        return None
    if _is_care_manager(user, grant.patient):
        return FeedbackGrant(grant, user.pk, all_pairs=True)
    if Session.objects.filter(patient=grant.patient, clinician=user, kind__in=FEEDBACK_KINDS).exists():
        return FeedbackGrant(grant, user.pk, all_pairs=False)
    return None


def access_feedback_patient(request: HttpRequest, patient_id: Any) -> FeedbackGrant:
    grant = access_patient(
        request, patient_id, need=Category.THERAPY_SUMMARIES, entity=FEEDBACK_ENTITY, audit_read=False
    )
    viewer = feedback_viewer(request.user, grant)
    if viewer is None:
        record_denied(request, FEEDBACK_ENTITY, patient_id, patient=grant.patient)
        raise Http404
    audit_patient_read(request, grant, entity=FEEDBACK_ENTITY, need="visit_feedback")
    return viewer


def visible_feedback(viewer: FeedbackGrant) -> QuerySet[VisitFeedback]:
    """The given (not skipped) feedback the viewer may read: their own visits', or all for a
    care manager."""
    rows = VisitFeedback.objects.filter(patient=viewer.patient, status=FeedbackStatus.GIVEN)
    if not viewer.all_pairs:
        rows = rows.filter(clinician_id=viewer.user_id)
    return rows


def may_read_feedback(user: Any, feedback: VisitFeedback) -> bool:
    """For one row (e.g. in a notification or a test): the visit's clinician or a care manager,
    on the care team today."""
    team = CareTeamMember.objects.filter(
        active_on(timezone.localdate()), patient_id=feedback.patient_id, user=user
    )
    if not team.exists():
        return False
    return feedback.clinician_id == user.pk or team.filter(role=Role.CARE_MANAGER).exists()


def access_checkins_patient(request: HttpRequest, patient_id: Any) -> PatientGrant:
    return access_patient(request, patient_id, need=Category.THERAPY_SUMMARIES, entity=CHECKIN_ENTITY)


def window_start(now: datetime) -> datetime:
    return now - timedelta(days=FEEDBACK_WINDOW_DAYS)


def feedback_sessions(patient: Patient, now: datetime) -> QuerySet[Session]:
    """The patient's visits that may be rated now: attended therapy sessions and
    medication-management visits that started in the last FEEDBACK_WINDOW_DAYS days."""
    return Session.objects.filter(
        patient=patient,
        status=SessionStatus.ATTENDED,
        kind__in=FEEDBACK_KINDS,
        starts_at__gte=window_start(now),
        starts_at__lte=now,
    )


def access_own_session(request: HttpRequest, session_id: Any) -> tuple[PatientGrant, Session]:
    """One of the signed-in patient's own visits, for the portal; 404 (audited) for a visit of
    another patient, a missing id, or anybody who is not a patient."""
    from tandem.patients.access import access_own_patient

    grant = access_own_patient(request, entity=FEEDBACK_ENTITY, audit_read=False)
    session = None
    if str(session_id).isdigit() and len(str(session_id)) < 19:
        session = (
            Session.objects.select_related("clinician")
            .filter(pk=int(session_id), patient=grant.patient)
            .first()
        )
    if session is None:
        record_denied(request, FEEDBACK_ENTITY, session_id, patient=grant.patient)
        raise Http404
    return grant, session
