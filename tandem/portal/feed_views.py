"""The patient's calendar link and reminders: make a secret calendar address (shown once),
choose whether event titles name the medication, make a new link or turn it off."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tandem.lib.http import AuthenticatedHttpRequest
from tandem.medications.calendar import (
    FUTURE_DAYS,
    PAST_DAYS,
    do_create_calendar_feed,
    do_revoke_calendar_feed,
    do_set_calendar_feed_names,
    feed_url,
    live_feed,
)
from tandem.patients.access import access_own_patient
from tandem.patients.models import Patient

ENTITY = "CalendarFeed"


def _context(patient: Patient, user: Any, new_url: str = "") -> dict[str, Any]:
    return {
        "patient": patient,
        "feed": live_feed(patient),
        "new_url": new_url,
        "webcal_url": "webcal://" + new_url.split("://", 1)[1] if new_url else "",
        "email": user.email,
        "past_days": PAST_DAYS,
        "future_days": FUTURE_DAYS,
    }


@login_required
def calendar(request: AuthenticatedHttpRequest) -> HttpResponse:
    grant = access_own_patient(request, entity=ENTITY)
    return render(request, "portal/calendar.html", _context(grant.patient, request.user))


@login_required
@require_POST
def calendar_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Make a link (a new one replaces the old). The answer is the only place the link is shown,
    so it is rendered here rather than after a redirect, and never cached."""
    grant = access_own_patient(request, entity=ENTITY, audit_read=False)
    _, raw = do_create_calendar_feed(grant.patient, acting_user=request.user, request=request)
    response = render(request, "portal/calendar.html", _context(grant.patient, request.user, feed_url(raw)))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def calendar_revoke(request: AuthenticatedHttpRequest) -> HttpResponse:
    grant = access_own_patient(request, entity=ENTITY, audit_read=False)
    if do_revoke_calendar_feed(grant.patient, acting_user=request.user, request=request) is not None:
        messages.success(request, "Your calendar link is turned off. Calendars that used it stop updating.")
    return redirect("portal:calendar")


@login_required
@require_POST
def calendar_titles(request: AuthenticatedHttpRequest) -> HttpResponse:
    grant = access_own_patient(request, entity=ENTITY, audit_read=False)
    show = request.POST.get("show_names") == "yes"
    if do_set_calendar_feed_names(grant.patient, show, acting_user=request.user, request=request) is not None:
        messages.success(
            request,
            "Event titles now name your medications."
            if show
            else "Event titles now say only “Medication reminder”.",
        )
    return redirect("portal:calendar")
