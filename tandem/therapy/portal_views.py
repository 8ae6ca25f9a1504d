"""My appointments (portal): upcoming sessions in the patient's time zone, where they are, a way
to tell the clinic "I can't come", and past attendance in plain words."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from tandem.lib.http import AuthenticatedHttpRequest
from tandem.patients.access import PatientGrant, access_own_patient
from tandem.therapy import access, actions, rules
from tandem.therapy.models import Session, SessionStatus
from tandem.therapy.queries import attendance_summary

SHOWN = 30
ENTITY = "Encounter"


def attendance_words(summary: rules.Attendance) -> str:
    """Past attendance as a patient reads it: encouraging, exact, no percentages."""
    came, missed = summary.attended, summary.no_show + summary.late_cancelled
    if came == 0 and missed == 0:
        return "Your past appointments will show here."
    came_words = f"You have come to {came} appointment{'s' if came != 1 else ''}"
    if missed == 0:
        return f"{came_words}. Thank you — every one counts."
    return (
        f"{came_words}. {missed} {'was' if missed == 1 else 'were'} missed or cancelled at short notice. "
        "If it is hard to come, tell your care team: together you can find a time or a way that works."
    )


def _context(
    grant: PatientGrant, now: datetime, *, error_for: int | None = None, error: str = "", typed: str = ""
) -> dict[str, Any]:
    patient = grant.patient
    upcoming = list(
        Session.objects.filter(
            patient=patient, starts_at__gte=now - timedelta(hours=1), status=SessionStatus.SCHEDULED
        )
        .select_related("clinician")
        .order_by("starts_at", "pk")[:SHOWN]
    )
    rows = [
        {
            "session": s,
            "late": rules.cancellation_status(s.starts_at, now) == rules.LATE_CANCELLED,
            "started": s.starts_at <= now,
            "error": error if s.pk == error_for else "",
            "typed": typed if s.pk == error_for else "",
        }
        for s in upcoming
    ]
    summary = attendance_summary(patient, now).overall
    return {
        "patient": patient,
        "rows": rows,
        "words": attendance_words(summary),
        "summary": summary,
        "late_hours": int(rules.LATE_CANCEL_WINDOW.total_seconds() // 3600),
    }


@login_required
def sessions(request: AuthenticatedHttpRequest) -> HttpResponse:
    grant = access_own_patient(request, entity=ENTITY)
    return render(request, "portal/therapy/sessions.html", _context(grant, timezone.now()))


@login_required
@require_POST
def cancel(request: AuthenticatedHttpRequest, session_id: int) -> HttpResponse:
    session = access.access_own_session(request, session_id)
    grant = access_own_patient(request, entity=ENTITY, audit_read=False)
    reason = request.POST.get("reason", "")[:300]
    try:
        session, changed = actions.do_patient_cancel_session(
            session, reason=reason, acting_user=request.user, request=request
        )
    except actions.TherapyError as exc:
        label = "Why can't you come" if exc.field == "reason" else "Appointment"
        context = _context(
            grant, timezone.now(), error_for=session.pk, error=f"{label}: {exc}.", typed=reason
        )
        return render(request, "portal/therapy/sessions.html", context, status=400)
    if changed and session.status == SessionStatus.LATE_CANCELLED:
        messages.success(
            request, "Thank you for telling us. Your appointment is cancelled (at short notice)."
        )
    elif changed:
        messages.success(request, "Thank you for telling us. Your appointment is cancelled.")
    return redirect("portal_therapy:sessions")
