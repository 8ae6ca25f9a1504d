"""The patient's own pages. No models here: everything goes through the domain apps."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from tandem.audit.access import audit_events_for_patient
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.pagination import paginate
from tandem.patients.access import access_own_patient
from tandem.patients.models import CareTeamMember, active_on


@login_required
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    grant = access_own_patient(request)
    patient = grant.patient
    team = (
        CareTeamMember.objects.filter(active_on(timezone.localdate()), patient=patient)
        .select_related("user")
        .order_by("role")
    )
    return render(request, "portal/home.html", {"patient": patient, "team": team})


@login_required
def access_log(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Who opened my record: every access by someone else, newest first."""
    grant = access_own_patient(request, entity="AuditLog")
    events = audit_events_for_patient(grant.patient.pk).select_related("actor")
    page = paginate(request, events, per_page=30)
    return render(request, "portal/access_log.html", {"patient": grant.patient, "page": page})


@login_required
def crisis(request: AuthenticatedHttpRequest) -> HttpResponse:
    grant = access_own_patient(request, audit_read=False)
    return render(request, "portal/crisis.html", {"patient": grant.patient})
