"""Writes of visit feedback and check-ins: one transaction each, audited.

Alerts on visit feedback go to the visit's clinician ALONE, as a direct in-app notification
(tandem.accounts.actions.do_notify), not as a team Alert. A team Alert is listed for the whole
care team (inbox, the patient's alerts page, the start page), so even a content-free one would
tell every team member "the patient rated this clinician low" — which is itself the content.
The notification names no score and no words of the patient; its link opens the feedback page,
which only the clinician and the care manager(s) may open. The care manager sees the flags on
that page. Audit rows carry no scores either (an organisation's administrator reads the log).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.actions import do_notify
from tandem.accounts.models import User
from tandem.audit.actions import audit_patient_event
from tandem.audit.models import Action
from tandem.feedback import rules
from tandem.feedback.access import FEEDBACK_KINDS, window_start
from tandem.feedback.instrument import RATING_IDS, TEXT_IDS, visit_feedback
from tandem.feedback.models import CheckIn, FeedbackStatus, VisitFeedback
from tandem.lib.timezones import local_date
from tandem.patients.models import CareTeamMember, Patient, active_on
from tandem.therapy.models import Session, SessionStatus

NOTE_MAX = 200
SKIP_CHOICES = (FeedbackStatus.NOT_NOW, FeedbackStatus.DECLINED)


class FeedbackError(ValueError):
    """Bad input; `field` names what was wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _key(value: str) -> str:
    key = (value or "").strip()
    if not 8 <= len(key) <= 64:
        raise FeedbackError("key", "This form could not be sent. Check your answers and send it again.")
    return key


def closed_reason(session: Session, now: datetime) -> str:
    """Why the visit cannot be rated now ("" when it can)."""
    if session.kind not in FEEDBACK_KINDS:
        return "This visit is not one we ask about."
    if session.status != SessionStatus.ATTENDED:
        return "We ask about visits after they have taken place."
    if session.starts_at > now:
        return "This visit has not happened yet."
    if session.starts_at < window_start(now):
        return "Feedback on this visit has closed (we ask within two weeks)."
    return ""


def clean_rating(name: str, value: Any) -> int:
    item = visit_feedback().item(name)
    text = str(value if value is not None else "").strip()
    if not text.isdigit() or not item.min <= int(text) <= item.max:
        raise FeedbackError(name, f"choose a number from {item.min} to {item.max}")
    return int(text)


def clean_text(name: str, value: Any) -> str:
    item = visit_feedback().item(name)
    text = str(value or "").strip()
    if item.max_length and len(text) > item.max_length:
        raise FeedbackError(name, f"is longer than {item.max_length} characters")
    return text


def _previous_overall(session: Session) -> list[int]:
    rows = (
        VisitFeedback.objects.filter(
            patient_id=session.patient_id,
            clinician_id=session.clinician_id,
            status=FeedbackStatus.GIVEN,
            visit_at__lt=session.starts_at,
        )
        .order_by("-visit_at")
        .values_list("overall", flat=True)[: rules.DROP_WINDOW]
    )
    return [v for v in rows if v is not None]


def feedback_page(patient_id: int, clinician_id: int) -> str:
    return reverse("feedback:list", kwargs={"patient_id": patient_id}) + f"#pair-{clinician_id}"


def notify_clinician(feedback: VisitFeedback, patient: Patient) -> None:
    """Tell the visit's clinician, while on the team, that feedback needs their attention —
    no score, no words."""
    clinician = feedback.clinician
    on_team = CareTeamMember.objects.filter(
        active_on(timezone.localdate()), patient=patient, user=clinician
    ).exists()
    if on_team:
        do_notify(
            [clinician],
            f"Visit feedback from {patient.name} needs your attention",
            link=feedback_page(patient.pk, clinician.pk),
        )


@transaction.atomic
def do_give_visit_feedback(
    session: Session,
    *,
    ratings: Mapping[str, Any],
    texts: Mapping[str, Any],
    idempotency_key: str,
    acting_user: User,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> tuple[VisitFeedback, bool]:
    """Store the patient's feedback on one visit; (feedback, created).

    One feedback per visit: a second submit (a retry, a double tap, the back button) returns the
    first and changes nothing. A visit skipped with "not now" or "prefer not to" can still be
    rated while its window is open. Rules that fire notify the visit's clinician.
    """
    now = now or timezone.now()
    key = _key(idempotency_key)
    session = Session.objects.select_for_update().select_related("patient", "clinician").get(pk=session.pk)
    existing = VisitFeedback.objects.filter(session=session).first()
    if existing is not None and existing.status == FeedbackStatus.GIVEN:
        return existing, False
    reason = closed_reason(session, now)
    if reason:
        raise FeedbackError("session", reason)
    values = {name: clean_rating(name, ratings.get(name)) for name in RATING_IDS}
    words = {name: clean_text(name, texts.get(name)) for name in TEXT_IDS}
    instrument = visit_feedback()
    labels = {i.link_id: i.short for i in instrument.ratings}
    findings = rules.evaluate(values, _previous_overall(session), labels=labels)
    fields = {
        "patient": session.patient,
        "clinician": session.clinician,
        "kind": session.kind,
        "visit_at": session.starts_at,
        "status": FeedbackStatus.GIVEN,
        "instrument": instrument.id,
        "instrument_version": instrument.version,
        "findings": [f.as_dict() for f in findings],
        "submitted_at": now,
        "submitted_by": acting_user,
        "idempotency_key": key,
        **values,
        **words,
    }
    if existing is None:
        try:
            with transaction.atomic():
                feedback = VisitFeedback.objects.create(session=session, **fields)
        except IntegrityError:  # a concurrent submit for the same visit won
            return VisitFeedback.objects.get(session=session), False
    else:
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.save(update_fields=[f for f in fields if f != "patient"])
        feedback = existing
    audit_patient_event(
        acting_user,
        Action.CREATE,
        "VisitFeedback",
        feedback.pk,
        session.patient,
        request=request,
        role="patient",
        session=session.pk,
        clinician=session.clinician_id,
        flagged=bool(findings),
    )
    if findings:
        notify_clinician(feedback, session.patient)
    return feedback, True


@transaction.atomic
def do_skip_visit_feedback(
    session: Session,
    *,
    choice: str,
    acting_user: User,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> VisitFeedback:
    """ "Not now" (the visit stays open for feedback while its window lasts) or "prefer not to"
    (it is not asked about again). Feedback already given stays as it is."""
    now = now or timezone.now()
    if choice not in SKIP_CHOICES:
        raise FeedbackError("choice", "choose “not now” or “prefer not to”")
    session = Session.objects.select_for_update().select_related("patient").get(pk=session.pk)
    existing = VisitFeedback.objects.filter(session=session).first()
    if existing is not None and (existing.status == FeedbackStatus.GIVEN or existing.status == choice):
        return existing
    reason = closed_reason(session, now)
    if reason:
        raise FeedbackError("session", reason)
    if existing is None:
        feedback = VisitFeedback.objects.create(
            session=session,
            patient=session.patient,
            clinician_id=session.clinician_id,
            kind=session.kind,
            visit_at=session.starts_at,
            status=choice,
            submitted_at=now,
            submitted_by=acting_user,
        )
    else:
        existing.status, existing.submitted_at = choice, now
        existing.save(update_fields=["status", "submitted_at"])
        feedback = existing
    audit_patient_event(
        acting_user,
        Action.UPDATE if existing else Action.CREATE,
        "VisitFeedback",
        feedback.pk,
        session.patient,
        request=request,
        role="patient",
        session=session.pk,
        skipped=choice,
    )
    return feedback


def clean_score(name: str, value: Any) -> int | None:
    text = str(value if value is not None else "").strip()
    if text == "":
        return None
    if not text.isdigit() or int(text) > 10:
        raise FeedbackError(name, "choose a number from 0 to 10, or leave it empty")
    return int(text)


def clean_sleep(value: Any) -> Decimal | None:
    text = str(value if value is not None else "").strip().replace(",", ".")
    if text == "":
        return None
    try:
        hours = Decimal(text)
    except InvalidOperation:
        raise FeedbackError("sleep_hours", "enter hours, like 7 or 7.5") from None
    if not hours.is_finite() or not 0 <= hours <= 24:
        raise FeedbackError("sleep_hours", "enter hours from 0 to 24")
    if (hours * 2) % 1 != 0:
        raise FeedbackError("sleep_hours", "round to the half hour, like 6.5")
    return hours.quantize(Decimal("0.1"))


def clean_note(value: Any) -> str:
    text = " ".join(str(value or "").split())  # one line
    if len(text) > NOTE_MAX:
        raise FeedbackError("note", f"keep it to {NOTE_MAX} characters (now {len(text)})")
    return text


@transaction.atomic
def do_record_checkin(
    patient: Patient,
    *,
    mood: Any,
    anxiety: Any,
    sleep_hours: Any,
    note: Any,
    idempotency_key: str,
    acting_user: User,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> tuple[CheckIn, bool]:
    """Record today's check-in (today in the patient's time zone); (check-in, changed).

    One per local day: a second check-in that day replaces the first's answers; a retried submit
    (the same idempotency key) changes nothing, so an old retry never overwrites a newer answer.
    """
    now = now or timezone.now()
    key = _key(idempotency_key)
    values = {
        "mood": clean_score("mood", mood),
        "anxiety": clean_score("anxiety", anxiety),
        "sleep_hours": clean_sleep(sleep_hours),
        "note": clean_note(note),
    }
    if all(v in (None, "") for v in values.values()):
        raise FeedbackError("mood", "answer at least one question")
    day = local_date(now, patient.time_zone)
    existing = CheckIn.objects.select_for_update().filter(patient=patient, day=day).first()
    if existing is None:
        try:
            with transaction.atomic():
                checkin = CheckIn.objects.create(
                    patient=patient,
                    day=day,
                    created_at=now,
                    updated_at=now,
                    recorded_by=acting_user,
                    last_key=key,
                    **values,
                )
        except IntegrityError:  # a concurrent submit made today's row first
            existing = CheckIn.objects.select_for_update().get(patient=patient, day=day)
        else:
            audit_patient_event(
                acting_user, Action.CREATE, "CheckIn", checkin.pk, patient, request=request, role="patient"
            )
            return checkin, True
    if existing.last_key == key:
        return existing, False
    for name, value in values.items():
        setattr(existing, name, value)
    existing.updated_at, existing.recorded_by, existing.last_key = now, acting_user, key
    existing.save(update_fields=[*values, "updated_at", "recorded_by", "last_key"])
    audit_patient_event(
        acting_user, Action.UPDATE, "CheckIn", existing.pk, patient, request=request, role="patient"
    )
    return existing, True
