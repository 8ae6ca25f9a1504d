"""Every write about sessions: one transaction each, audited; attendance signals are evaluated
inside the same transaction as the status change that may trigger them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlparse

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from tandem.accounts.models import Role, User
from tandem.audit.actions import audit_patient_event
from tandem.audit.models import Action
from tandem.lib.timezones import at_local, exists
from tandem.patients.models import CareTeamMember, Patient, active_on
from tandem.therapy import rules
from tandem.therapy.models import Session, SessionKind, SessionSeries, SessionStatus, Setting
from tandem.therapy.queries import LONGEST_SESSION, Clash, live

ENTITY = "Encounter"
# Sessions may be recorded after the fact, up to this far back (a single session, not a series).
BACKFILL = timedelta(days=90)
AHEAD = timedelta(days=rules.MAX_SERIES_DAYS)
CLINICIAN_ROLE = {SessionKind.THERAPY: Role.THERAPIST, SessionKind.MEDICATION: Role.PRESCRIBER}
FINAL_OUTCOMES = {SessionStatus.ATTENDED, SessionStatus.NO_SHOW, SessionStatus.LATE_CANCELLED}


class TherapyError(ValueError):
    """Bad input; `field` names what was wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class OverlapWarning(TherapyError):
    """The new times clash with other live sessions of the clinician or of the patient; saving
    needs the caller to confirm exactly these clashes (`signature`)."""

    def __init__(self, found: list[Clash]) -> None:
        super().__init__("starts_at", "overlaps other appointments")
        self.clashes = found
        self.signature = clash_signature(found)


def clash_signature(found: list[Clash]) -> str:
    return ",".join(sorted(c.key() for c in found))


def find_clashes(
    patient: Patient, clinician_id: int, intervals: list[tuple[datetime, datetime]], exclude: list[int]
) -> list[Clash]:
    """Live sessions of the clinician (any patient) or of the patient (any clinician) that
    overlap the intervals (one query). Times only: never whose session it is."""
    if not intervals:
        return []
    first, last = min(s for s, _ in intervals), max(e for _, e in intervals)
    rows = (
        Session.objects.filter(live(), Q(clinician_id=clinician_id) | Q(patient=patient))
        .filter(starts_at__lt=last, starts_at__gt=first - LONGEST_SESSION)
        .exclude(pk__in=exclude)
        .values_list("starts_at", "duration_minutes")
        .order_by("starts_at")
    )
    found = []
    for starts_at, minutes in rows:
        ends_at = starts_at + timedelta(minutes=minutes)
        hit = next((s for s, e in intervals if starts_at < e and s < ends_at), None)
        if hit is not None:
            found.append(Clash(starts_at, ends_at, hit))
    return found


def _check_place(setting: str, place: str, telehealth_url: str) -> tuple[str, str]:
    if setting not in Setting.values:
        raise TherapyError("setting", f"must be one of {', '.join(Setting.values)}")
    place, url = place.strip(), telehealth_url.strip()
    if len(place) > 200:
        raise TherapyError("place", "at most 200 characters")
    if setting == Setting.TELEHEALTH:
        parsed = urlparse(url)
        if not url:
            raise TherapyError("telehealth_url", "give the video link of a telehealth session")
        if parsed.scheme != "https" or not parsed.netloc or len(url) > 500 or any(c.isspace() for c in url):
            raise TherapyError("telehealth_url", "must be a secure link starting with https://")
        return "", url
    return place, ""


def _check_clinician(patient: Patient, clinician: User, kind: str, today: date) -> None:
    if kind not in SessionKind.values:
        raise TherapyError("kind", f"must be one of {', '.join(SessionKind.values)}")
    role = CLINICIAN_ROLE[SessionKind(kind)]
    on_team = CareTeamMember.objects.filter(
        active_on(today), patient=patient, user=clinician, role=role, user__is_active=True
    ).exists()
    if not on_team:
        raise TherapyError(
            "clinician",
            f"must be a {Role(role).label.lower()} on the patient's care team "
            f"({'therapy sessions' if role == Role.THERAPIST else 'medication visits'} are theirs)",
        )


def _local_start(patient: Patient, day: date, wall: time) -> datetime:
    local = datetime.combine(day, wall, tzinfo=patient.tz)
    if not exists(local):
        raise TherapyError(
            "time",
            f"{wall:%H:%M} does not exist on {day:%d %b %Y} in {patient.time_zone} (the clocks go forward)",
        )
    return at_local(day, wall, patient.tz)


@dataclass
class Scheduled:
    first: Session
    sessions: list[Session]
    series: SessionSeries | None
    created: bool


def do_schedule_sessions(
    patient: Patient,
    *,
    clinician: User,
    kind: str,
    day: date,
    wall: time,
    duration_minutes: int = 50,
    setting: str = Setting.IN_PERSON,
    place: str = "",
    telehealth_url: str = "",
    modality: str = "",
    repeat: bool = False,
    interval_weeks: int = 1,
    count: int | None = None,
    until: date | None = None,
    idempotency_key: str = "",
    confirmed_clashes: str = "",
    acting_user: User,
    role: str = "",
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> Scheduled:
    """Schedule one session, or a series every `interval_weeks` weeks (`count` times or until
    `until`), at `wall` o'clock in the patient's time zone. The same idempotency key returns what
    it made the first time. Clashes raise OverlapWarning unless `confirmed_clashes` is their
    signature."""
    now = now or timezone.now()
    key = idempotency_key.strip()
    if key:
        if not 8 <= len(key) <= 64:
            raise TherapyError("idempotency_key", "must be 8 to 64 characters")
        done = _already(patient, key)
        if done is not None:
            return done
    _check_clinician(patient, clinician, kind, timezone.localdate(now))
    if not 5 <= duration_minutes <= 480:
        raise TherapyError("duration_minutes", "must be 5 to 480 minutes")
    place, telehealth_url = _check_place(setting, place, telehealth_url)
    first = _local_start(patient, day, wall)
    if repeat:
        if not 1 <= interval_weeks <= 12:
            raise TherapyError("interval_weeks", "must be 1 to 12 weeks")
        if count is None and until is None:
            raise TherapyError("count", "give a number of sessions or an end date")
        if count is not None and not 1 <= count <= rules.MAX_OCCURRENCES:
            raise TherapyError("count", f"must be 1 to {rules.MAX_OCCURRENCES}")
        if until is not None and until < day:
            raise TherapyError("until", "is before the first session")
        if until is not None and (until - day).days > rules.MAX_SERIES_DAYS:
            raise TherapyError("until", "a series may run for at most two years")
        if first < now:
            raise TherapyError("date", "a series starts in the future")
        starts = rules.occurrences(
            day, wall, patient.tz, interval_weeks=interval_weeks, count=count, until=until
        )
    else:
        if first < now - BACKFILL:
            raise TherapyError("date", "sessions can be recorded up to 90 days back")
        starts = [first]
    if first > now + AHEAD:
        raise TherapyError("date", "is more than two years ahead")
    length = timedelta(minutes=duration_minutes)
    found = find_clashes(patient, clinician.pk, [(s, s + length) for s in starts], [])
    if found and clash_signature(found) != confirmed_clashes:
        raise OverlapWarning(found)
    try:
        with transaction.atomic():
            series = None
            if repeat:
                series = SessionSeries.objects.create(
                    patient=patient,
                    clinician=clinician,
                    kind=kind,
                    interval_weeks=interval_weeks,
                    count=count,
                    until=until,
                    created_by=acting_user,
                    created_at=now,
                )
            sessions = [
                Session.objects.create(
                    patient=patient,
                    clinician=clinician,
                    kind=kind,
                    modality=modality if kind == SessionKind.THERAPY else "",
                    series=series,
                    starts_at=start,
                    duration_minutes=duration_minutes,
                    setting=setting,
                    place=place,
                    telehealth_url=telehealth_url,
                    created_by=acting_user,
                    created_at=now,
                    idempotency_key=key if i == 0 else "",
                )
                for i, start in enumerate(starts)
            ]
            audit_patient_event(
                acting_user,
                Action.CREATE,
                ENTITY,
                sessions[0].pk,
                patient,
                request=request,
                role=role,
                sessions=[s.pk for s in sessions],
                series=series.pk if series else None,
                kind=kind,
                clinician=clinician.pk,
                starts_at=[s.starts_at.isoformat() for s in sessions],
                overlaps_confirmed=len(found),
            )
    except IntegrityError:
        again = _already(patient, key) if key else None
        if again is None:
            raise
        return again
    return Scheduled(sessions[0], sessions, series, True)


def _already(patient: Patient, key: str) -> Scheduled | None:
    first = Session.objects.filter(patient=patient, idempotency_key=key).select_related("series").first()
    if first is None:
        return None
    sessions = list(first.series.sessions.order_by("starts_at")) if first.series else [first]
    return Scheduled(first, sessions, first.series, False)


def _locked(session: Session) -> Session:
    return Session.objects.select_for_update(of=("self",)).select_related("patient").get(pk=session.pk)


def _changed(
    session: Session, status: str, reason: str, acting_user: User | None, now: datetime
) -> list[str]:
    session.status = status
    session.status_reason = reason[:300]
    session.status_changed_at = now
    session.status_changed_by = acting_user
    return ["status", "status_reason", "status_changed_at", "status_changed_by"]


def do_set_session_status(
    session: Session,
    status: str,
    *,
    reason: str = "",
    acting_user: User,
    role: str = "",
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> tuple[Session, bool]:
    """Record what happened to a session; (session, changed). Setting the status it already has
    changes nothing (a double click). A recorded outcome may be corrected, with a reason; a
    cancelled session stays cancelled (schedule a new one)."""
    now = now or timezone.now()
    reason = reason.strip()
    if status not in SessionStatus.values or status == SessionStatus.SCHEDULED:
        raise TherapyError("status", "choose attended, no-show, cancelled or late-cancelled")
    with transaction.atomic():
        session = _locked(session)
        before = session.status
        if before == status:
            return session, False
        if before == SessionStatus.CANCELLED:
            raise TherapyError("status", "this session was cancelled; schedule a new one instead")
        if status in (SessionStatus.ATTENDED, SessionStatus.NO_SHOW) and session.starts_at > now:
            raise TherapyError("status", "the session has not started yet")
        if status in (SessionStatus.CANCELLED, SessionStatus.LATE_CANCELLED) and not reason:
            raise TherapyError("reason", "say why the session was cancelled")
        if before != SessionStatus.SCHEDULED and not reason:
            raise TherapyError("reason", "say why the recorded outcome is corrected")
        fields = _changed(session, status, reason, acting_user, now)
        session.save(update_fields=fields)
        audit_patient_event(
            acting_user,
            Action.UPDATE,
            ENTITY,
            session.pk,
            session.patient,
            request=request,
            role=role,
            change="status",
            before=before,
            after=status,
            reason=reason[:300],
        )
        _signals(session.patient, now)
    return session, True


def do_patient_cancel_session(
    session: Session,
    *,
    reason: str,
    acting_user: User,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> tuple[Session, bool]:
    """The patient says they cannot come: cancelled, or late-cancelled within
    rules.LATE_CANCEL_WINDOW of the start (the portal says which before they confirm). Asking
    again for a session they already cancelled changes nothing."""
    now = now or timezone.now()
    reason = reason.strip()
    with transaction.atomic():
        session = _locked(session)
        if session.status in (SessionStatus.CANCELLED, SessionStatus.LATE_CANCELLED):
            return session, False
        if session.status != SessionStatus.SCHEDULED or session.starts_at <= now:
            raise TherapyError("session", "this appointment has already started or taken place")
        if not reason:
            raise TherapyError("reason", "tell your clinician briefly why you cannot come")
        status = rules.cancellation_status(session.starts_at, now)
        session.save(update_fields=_changed(session, status, f"Patient: {reason}", acting_user, now))
        audit_patient_event(
            acting_user,
            Action.UPDATE,
            ENTITY,
            session.pk,
            session.patient,
            request=request,
            role="patient",
            change="status",
            before=SessionStatus.SCHEDULED,
            after=status,
            reason=reason[:300],
        )
        _signals(session.patient, now)
    return session, True


def do_move_session(
    session: Session,
    *,
    day: date,
    wall: time,
    duration_minutes: int | None = None,
    reason: str = "",
    confirmed_clashes: str = "",
    acting_user: User,
    role: str = "",
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> Session:
    """Move a scheduled session to another day or time (local to the patient). It leaves its
    series' rhythm alone: the other sessions keep their times."""
    now = now or timezone.now()
    patient = session.patient
    minutes = duration_minutes or session.duration_minutes
    if not 5 <= minutes <= 480:
        raise TherapyError("duration_minutes", "must be 5 to 480 minutes")
    start = _local_start(patient, day, wall)
    if start < now:
        raise TherapyError("date", "a session can only be moved to a time still to come")
    if start > now + AHEAD:
        raise TherapyError("date", "is more than two years ahead")
    found = find_clashes(
        patient, session.clinician_id, [(start, start + timedelta(minutes=minutes))], [session.pk]
    )
    if found and clash_signature(found) != confirmed_clashes:
        raise OverlapWarning(found)
    with transaction.atomic():
        session = _locked(session)
        if session.status != SessionStatus.SCHEDULED:
            raise TherapyError("status", "only a scheduled session can be moved")
        before = session.starts_at
        if before == start and session.duration_minutes == minutes:
            return session
        session.starts_at, session.duration_minutes = start, minutes
        session.save(update_fields=["starts_at", "duration_minutes"])
        audit_patient_event(
            acting_user,
            Action.UPDATE,
            ENTITY,
            session.pk,
            session.patient,
            request=request,
            role=role,
            change="moved",
            before=before.isoformat(),
            after=start.isoformat(),
            duration_minutes=minutes,
            reason=reason.strip()[:300],
        )
    return session


def do_cancel_series(
    series: SessionSeries,
    *,
    reason: str,
    acting_user: User,
    role: str = "",
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> int:
    """Cancel every scheduled session of the series still to come (by the clinic: in good time
    for the patient's attendance) and end the series. Returns how many were cancelled."""
    now = now or timezone.now()
    reason = reason.strip()
    if not reason:
        raise TherapyError("reason", "say why the rest of the series is cancelled")
    with transaction.atomic():
        series = SessionSeries.objects.select_for_update().select_related("patient").get(pk=series.pk)
        rows = Session.objects.filter(series=series, status=SessionStatus.SCHEDULED, starts_at__gt=now)
        ids = list(rows.values_list("pk", flat=True))
        cancelled = Session.objects.filter(pk__in=ids, status=SessionStatus.SCHEDULED).update(
            status=SessionStatus.CANCELLED,
            status_reason=reason[:300],
            status_changed_at=now,
            status_changed_by=acting_user,
        )
        if series.ended_at is None:
            series.ended_at = now
            series.save(update_fields=["ended_at"])
        audit_patient_event(
            acting_user,
            Action.UPDATE,
            "EncounterSeries",
            series.pk,
            series.patient,
            request=request,
            role=role,
            change="cancel_rest",
            sessions=ids,
            reason=reason[:300],
        )
    return cancelled


def _signals(patient: Patient, now: datetime) -> None:
    from tandem.therapy.signals import evaluate_patient

    evaluate_patient(patient, now)


def describe_clash(clash: Clash, tz: Any) -> str:
    start = timezone.localtime(clash.starts_at, tz)
    end = timezone.localtime(clash.ends_at, tz)
    return f"{start:%a %d %b %Y %H:%M}–{end:%H:%M}"
