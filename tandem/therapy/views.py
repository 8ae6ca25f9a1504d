"""Sessions, clinician side: the patient's therapy overview (the record's "Therapy" tab), one
session with its status, scheduling (single or recurring, clashes shown before saving), moving
and cancelling the rest of a series."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Min, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.pagination import paginate
from tandem.lib.timezones import local_date
from tandem.patients.access import PatientGrant
from tandem.patients.models import CareTeamMember, active_on
from tandem.patients.views import patient_tabs
from tandem.therapy import access, actions
from tandem.therapy.forms import CancelSeriesForm, MoveForm, ScheduleForm, StatusForm
from tandem.therapy.models import Session, SessionKind, SessionSeries, SessionStatus
from tandem.therapy.queries import attendance_summary

UPCOMING_SHOWN = 20
PAST_PER_PAGE = 20
CLINICIAN_ROLES = {"therapist": "therapist", "prescriber": "prescriber"}


def _base(request: AuthenticatedHttpRequest, grant: PatientGrant, **extra: Any) -> dict[str, Any]:
    return {
        "grant": grant,
        "patient": grant.patient,
        "tabs": patient_tabs(grant),
        "tab": "therapy",
        "age": grant.patient.age_on(timezone.localdate()),
        "may_schedule": access.may_schedule(grant),
        **extra,
    }


def _confirm(form: Any, signature: str) -> None:
    """Show the form again with the clashes it was warned about: saving again confirms them."""
    data = form.data.copy()
    data["confirmed"] = signature
    form.data = data


def _row(request: AuthenticatedHttpRequest, grant: PatientGrant, session: Session) -> dict[str, Any]:
    return {"session": session, "may_record": access.may_record_attendance(grant, session, request.user)}


@login_required
def overview(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_therapy_patient(request, patient_id)
    patient = grant.patient
    now = timezone.now()
    sessions = Session.objects.filter(patient=patient).select_related("clinician")
    upcoming = list(sessions.filter(starts_at__gte=now).order_by("starts_at", "pk")[: UPCOMING_SHOWN + 1])
    past = paginate(request, sessions.filter(starts_at__lt=now).order_by("-starts_at", "-pk"), PAST_PER_PAGE)
    series = list(
        SessionSeries.objects.filter(patient=patient, ended_at__isnull=True)
        .select_related("clinician")
        .annotate(
            remaining=Count(
                "sessions", filter=Q(sessions__starts_at__gte=now, sessions__status=SessionStatus.SCHEDULED)
            ),
            next_at=Min(
                "sessions__starts_at",
                filter=Q(sessions__starts_at__gte=now, sessions__status=SessionStatus.SCHEDULED),
            ),
        )
        .filter(remaining__gt=0)
        .order_by("next_at")
    )
    from tandem.feedback.charts import checkin_chart, checkin_period

    checkins_from, checkins_to = checkin_period(local_date(now, patient.time_zone))
    context = _base(
        request,
        grant,
        checkins=checkin_chart(patient, checkins_from, checkins_to),
        upcoming=[_row(request, grant, s) for s in upcoming[:UPCOMING_SHOWN]],
        more_upcoming=len(upcoming) > UPCOMING_SHOWN,
        past=[_row(request, grant, s) for s in past.object_list],
        page=past,
        summary=attendance_summary(patient, now),
        series=series,
        now=now,
    )
    return render(request, "therapy/overview.html", context)


def _clinicians(grant: PatientGrant) -> list[tuple[int, str]]:
    members = (
        CareTeamMember.objects.filter(
            active_on(timezone.localdate()),
            patient=grant.patient,
            role__in=list(CLINICIAN_ROLES),
            user__is_active=True,
        )
        .select_related("user")
        .order_by("role", "user__full_name")
    )
    return [(m.user.pk, f"{m.user.display_name} — {m.get_role_display().lower()}") for m in members]


@login_required
@require_http_methods(["GET", "POST"])
def schedule(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_therapy_patient(request, patient_id, schedule=True)
    patient = grant.patient
    clinicians = _clinicians(grant)
    initial: dict[str, Any] = {"key": secrets.token_urlsafe(16)}
    own = next((pk for pk, _ in clinicians if pk == request.user.pk), None)
    if own is not None:
        initial["clinician"] = own
        if grant.role == "prescriber":
            initial["kind"] = SessionKind.MEDICATION
            initial["duration_minutes"] = 30
    form = ScheduleForm(request.POST or None, initial=initial, clinicians=clinicians)
    clashes: list[str] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        team = {
            m.user_id: m.user for m in CareTeamMember.objects.filter(patient=patient).select_related("user")
        }
        try:
            done = actions.do_schedule_sessions(
                patient,
                clinician=team[data["clinician"]],
                kind=data["kind"],
                day=data["date"],
                wall=data["time"],
                duration_minutes=data["duration_minutes"],
                setting=data["setting"],
                place=data["place"],
                telehealth_url=data["telehealth_url"],
                modality=data["modality"],
                repeat=data["repeat"],
                interval_weeks=data["interval_weeks"],
                count=data["count"],
                until=data["until"],
                idempotency_key=data["key"] or "",
                confirmed_clashes=data["confirmed"],
                acting_user=request.user,
                role=grant.role,
                request=request,
            )
        except actions.OverlapWarning as warning:
            clashes = [actions.describe_clash(c, patient.tz) for c in warning.clashes]
            _confirm(form, warning.signature)
        except actions.TherapyError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        except KeyError:
            form.add_error("clinician", "must be on the patient's care team")
        else:
            n = len(done.sessions)
            messages.success(
                request,
                f"{n} sessions scheduled." if n > 1 else "Session scheduled.",
            )
            return redirect("therapy:session", patient_id=patient.pk, session_id=done.first.pk)
    return render(
        request,
        "therapy/schedule.html",
        _base(request, grant, form=form, clashes=clashes),
        status=400 if form.errors else 200,
    )


def _detail(
    request: AuthenticatedHttpRequest,
    grant: PatientGrant,
    session: Session,
    *,
    status_form: StatusForm | None = None,
    move_form: MoveForm | None = None,
    series_form: CancelSeriesForm | None = None,
    clashes: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    local = timezone.localtime(session.starts_at, grant.patient.tz)
    may_schedule = access.may_schedule(grant)
    context = _base(
        request,
        grant,
        session=session,
        may_record=access.may_record_attendance(grant, session, request.user),
        status_form=status_form or StatusForm(),
        move_form=move_form
        or MoveForm(
            initial={
                "date": local.date(),
                "time": local.strftime("%H:%M"),
                "duration_minutes": session.duration_minutes,
            }
        ),
        series_form=series_form or CancelSeriesForm(),
        may_move=may_schedule and session.status == SessionStatus.SCHEDULED,
        may_cancel_series=may_schedule and session.series is not None and session.series.ended_at is None,
        clashes=clashes or [],
        now=timezone.now(),
    )
    return render(request, "therapy/session.html", context, status=status)


@login_required
def session_detail(request: AuthenticatedHttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    grant = access.access_therapy_patient(request, patient_id)
    session = access.access_session(grant, request, session_id)
    return _detail(request, grant, session)


@login_required
@require_POST
def set_status(request: AuthenticatedHttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    grant = access.access_therapy_patient(request, patient_id, schedule=True)
    session = access.access_session(grant, request, session_id)
    form = StatusForm(request.POST)
    if form.is_valid():
        status = form.cleaned_data["status"]
        if status in (SessionStatus.ATTENDED, SessionStatus.NO_SHOW) and not access.may_record_attendance(
            grant, session, request.user
        ):
            form.add_error("status", "Attendance is recorded by the session's clinician or the care manager.")
        else:
            try:
                session, changed = actions.do_set_session_status(
                    session,
                    status,
                    reason=form.cleaned_data["reason"],
                    acting_user=request.user,
                    role=grant.role,
                    request=request,
                )
            except actions.TherapyError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                if changed:
                    messages.success(request, f"Recorded: {session.get_status_display().lower()}.")
                back = request.POST.get("next", "")
                if back == "overview":
                    return redirect("therapy:overview", patient_id=grant.patient.pk)
                return redirect("therapy:session", patient_id=grant.patient.pk, session_id=session.pk)
    return _detail(request, grant, session, status_form=form, status=400)


@login_required
@require_POST
def move(request: AuthenticatedHttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    grant = access.access_therapy_patient(request, patient_id, schedule=True)
    session = access.access_session(grant, request, session_id)
    form = MoveForm(request.POST)
    clashes: list[str] = []
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.do_move_session(
                session,
                day=data["date"],
                wall=data["time"],
                duration_minutes=data["duration_minutes"],
                reason=data["reason"],
                confirmed_clashes=data["confirmed"],
                acting_user=request.user,
                role=grant.role,
                request=request,
            )
        except actions.OverlapWarning as warning:
            clashes = [actions.describe_clash(c, grant.patient.tz) for c in warning.clashes]
            _confirm(form, warning.signature)
            return _detail(request, grant, session, move_form=form, clashes=clashes)
        except actions.TherapyError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(request, "Session moved.")
            return redirect("therapy:session", patient_id=grant.patient.pk, session_id=session.pk)
    return _detail(request, grant, session, move_form=form, status=400)


@login_required
@require_POST
def cancel_series(request: AuthenticatedHttpRequest, patient_id: int, series_id: int) -> HttpResponse:
    grant = access.access_therapy_patient(request, patient_id, schedule=True)
    series = access.access_series(grant, request, series_id)
    form = CancelSeriesForm(request.POST)
    if form.is_valid():
        try:
            n = actions.do_cancel_series(
                series,
                reason=form.cleaned_data["reason"],
                acting_user=request.user,
                role=grant.role,
                request=request,
            )
        except actions.TherapyError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(request, f"The rest of the series is cancelled ({n} sessions).")
            return redirect("therapy:overview", patient_id=grant.patient.pk)
    session = series.sessions.select_related("clinician", "series").order_by("-starts_at").first()
    if session is None:
        return redirect("therapy:overview", patient_id=grant.patient.pk)
    return _detail(request, grant, session, series_form=form, status=400)
