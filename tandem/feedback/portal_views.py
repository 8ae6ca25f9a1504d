"""Feedback in the portal: the visits waiting for the patient's feedback, one short form per
visit (or "not now" / "prefer not to"), and the daily check-in with the patient's own trend."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from tandem.accounts.models import Role
from tandem.feedback.access import (
    CHECKIN_ENTITY,
    FEEDBACK_ENTITY,
    FEEDBACK_WINDOW_DAYS,
    access_own_session,
    feedback_sessions,
)
from tandem.feedback.actions import (
    FeedbackError,
    closed_reason,
    do_give_visit_feedback,
    do_record_checkin,
    do_skip_visit_feedback,
)
from tandem.feedback.charts import checkin_chart, checkin_period
from tandem.feedback.forms import CheckInForm, VisitFeedbackForm
from tandem.feedback.instrument import RATING_IDS, TEXT_IDS, visit_feedback
from tandem.feedback.models import CheckIn, FeedbackStatus, VisitFeedback
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.timezones import local_date
from tandem.patients.access import PatientGrant, access_own_patient
from tandem.patients.models import CareTeamMember, Patient, active_on
from tandem.therapy.models import Session


def _care_managers(patient: Patient) -> list[str]:
    members = CareTeamMember.objects.filter(
        active_on(timezone.localdate()), patient=patient, role=Role.CARE_MANAGER
    ).select_related("user")
    return sorted({m.user.display_name for m in members if m.user.is_active})


@login_required
def visits(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Attended visits of the last FEEDBACK_WINDOW_DAYS days with no feedback yet, newest first;
    below them the ones put off with "not now"."""
    grant = access_own_patient(request, entity=FEEDBACK_ENTITY)
    sessions = list(
        feedback_sessions(grant.patient, timezone.now())
        .select_related("clinician", "feedback")
        .order_by("-starts_at")
    )
    waiting = [s for s in sessions if not hasattr(s, "feedback")]
    later = [s for s in sessions if hasattr(s, "feedback") and s.feedback.status == FeedbackStatus.NOT_NOW]
    context = {"patient": grant.patient, "waiting": waiting, "later": later, "window": FEEDBACK_WINDOW_DAYS}
    return render(request, "portal/feedback/visits.html", context)


def _visit_page(
    request: AuthenticatedHttpRequest,
    grant: PatientGrant,
    session: Session,
    form: VisitFeedbackForm | None,
    *,
    status: int = 200,
    closed: str = "",
    given: VisitFeedback | None = None,
) -> HttpResponse:
    problems = []
    if form is not None and form.errors:
        labels = {i.link_id: i.short for i in visit_feedback().items}
        problems = [labels[n] for n in (*RATING_IDS, *TEXT_IDS) if n in form.errors]
    context = {
        "patient": grant.patient,
        "session": session,
        "local_start": timezone.localtime(session.starts_at, grant.patient.tz),
        "form": form,
        "scales": form.scales() if form is not None else [],
        "texts": [form[n] for n in TEXT_IDS] if form is not None else [],
        "problems": problems,
        "closed": closed,
        "given": given,
        "care_managers": _care_managers(grant.patient),
        "instrument": visit_feedback(),
    }
    return render(request, "portal/feedback/visit.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def visit(request: AuthenticatedHttpRequest, session_id: int) -> HttpResponse:
    grant, session = access_own_session(request, session_id)
    now = timezone.now()
    given = VisitFeedback.objects.filter(session=session, status=FeedbackStatus.GIVEN).first()
    if request.method == "GET":
        from tandem.patients.access import audit_patient_read

        audit_patient_read(request, grant, entity=FEEDBACK_ENTITY, need="own_visit")
        if given is not None:
            return _visit_page(request, grant, session, None, given=given)
        closed = closed_reason(session, now)
        form = None if closed else VisitFeedbackForm(initial={"key": secrets.token_urlsafe(16)})
        return _visit_page(request, grant, session, form, closed=closed)
    if given is not None:  # a second submit: the first is kept, nothing is stored twice
        messages.info(request, "Thank you — we already have your feedback on this visit.")
        return redirect("portal_feedback:visits")
    data = request.POST.copy()
    if not 8 <= len(data.get("key", "").strip()) <= 64:
        data["key"] = secrets.token_urlsafe(16)
    form = VisitFeedbackForm(data)
    if form.is_valid():
        try:
            do_give_visit_feedback(
                session,
                ratings={n: form.cleaned_data[n] for n in RATING_IDS},
                texts={n: form.cleaned_data[n] for n in TEXT_IDS},
                idempotency_key=form.cleaned_data["key"],
                acting_user=request.user,
                request=request,
                now=now,
            )
        except FeedbackError as exc:
            if exc.field == "session":
                return _visit_page(request, grant, session, None, status=400, closed=str(exc))
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(request, "Thank you. Your feedback was sent.")
            return redirect("portal_feedback:visits")
    return _visit_page(request, grant, session, form, status=400)


@login_required
@require_POST
def skip(request: AuthenticatedHttpRequest, session_id: int) -> HttpResponse:
    _grant, session = access_own_session(request, session_id)
    try:
        do_skip_visit_feedback(
            session, choice=request.POST.get("choice", ""), acting_user=request.user, request=request
        )
    except FeedbackError as exc:
        messages.error(request, f"{exc}.")
        return redirect("portal_feedback:visits")
    if request.POST.get("choice") == FeedbackStatus.NOT_NOW:
        messages.success(request, "OK — you can still give feedback on this visit later.")
    else:
        messages.success(request, "OK — we will not ask about this visit again.")
    return redirect("portal_feedback:visits")


def _checkin_page(
    request: AuthenticatedHttpRequest,
    grant: PatientGrant,
    form: CheckInForm,
    today_row: CheckIn | None,
    status: int,
) -> HttpResponse:
    patient = grant.patient
    today = local_date(timezone.now(), patient.tz)
    start, end = checkin_period(today)
    context = {
        "patient": patient,
        "form": form,
        "scales": form.scales(),
        "today": today,
        "today_row": today_row,
        "chart": checkin_chart(patient, start, end, width=360),
        "problems": [form.fields[n].label for n in form.fields if n in form.errors and n != "key"],
    }
    return render(request, "portal/feedback/checkin.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def checkin(request: AuthenticatedHttpRequest) -> HttpResponse:
    posting = request.method == "POST"
    grant = access_own_patient(request, entity=CHECKIN_ENTITY, audit_read=not posting)
    patient = grant.patient
    today = local_date(timezone.now(), patient.tz)
    today_row = CheckIn.objects.filter(patient=patient, day=today).first()
    if not posting:
        initial: dict[str, Any] = {"key": secrets.token_urlsafe(16)}
        if today_row is not None:
            initial.update(
                mood=today_row.mood,
                anxiety=today_row.anxiety,
                sleep_hours="" if today_row.sleep_hours is None else f"{today_row.sleep_hours:g}",
                note=today_row.note,
            )
        return _checkin_page(request, grant, CheckInForm(initial=initial), today_row, 200)
    data = request.POST.copy()
    if not 8 <= len(data.get("key", "").strip()) <= 64:
        data["key"] = secrets.token_urlsafe(16)
    form = CheckInForm(data)
    if form.is_valid():
        try:
            do_record_checkin(
                patient,
                mood=form.cleaned_data["mood"],
                anxiety=form.cleaned_data["anxiety"],
                sleep_hours=form.cleaned_data["sleep_hours"],
                note=form.cleaned_data["note"],
                idempotency_key=form.cleaned_data["key"],
                acting_user=request.user,
                request=request,
            )
        except FeedbackError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(request, "Saved. Thank you for checking in.")
            return redirect("portal_feedback:checkin")
    return _checkin_page(request, grant, form, today_row, 400)
