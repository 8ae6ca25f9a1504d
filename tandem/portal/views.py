"""The patient's own pages. No models here: everything goes through the domain apps."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from tandem.audit.access import audit_events_for_patient, record_denied
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.pagination import paginate
from tandem.lib.timezones import local_date
from tandem.patients.access import access_own_patient
from tandem.patients.actions import do_revoke_consent
from tandem.patients.models import CareTeamMember, Consent, active_on


@login_required
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    grant = access_own_patient(request)
    patient = grant.patient
    team = (
        CareTeamMember.objects.filter(active_on(timezone.localdate()), patient=patient)
        .select_related("user")
        .order_by("role")
    )
    from tandem.measures.schedule import due_instruments

    due = due_instruments(patient, local_date(timezone.now(), patient.time_zone))
    return render(request, "portal/home.html", {"patient": patient, "team": team, "due_measures": due})


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


@login_required
def sharing(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Who can see my record: my care team, and the people I agreed to share with."""
    grant = access_own_patient(request, entity="Consent")
    patient = grant.patient
    today = timezone.localdate()
    team = CareTeamMember.objects.filter(active_on(today), patient=patient).select_related(
        "user", "organisation"
    )
    consents = list(
        Consent.objects.filter(patient=patient).select_related("grantee_user", "grantee_organisation")
    )
    return render(
        request,
        "portal/sharing.html",
        {
            "patient": patient,
            "team": team,
            "active": [c for c in consents if c.is_active_on(today)],
            "past": [c for c in consents if not c.is_active_on(today)],
        },
    )


@login_required
@require_POST
def consent_revoke(request: AuthenticatedHttpRequest, consent_id: int) -> HttpResponse:
    """The patient withdraws a consent: the grantee loses access at once."""
    grant = access_own_patient(request, entity="Consent", audit_read=False)
    consent = Consent.objects.filter(id=consent_id, patient=grant.patient).select_related("patient").first()
    if consent is None:
        record_denied(request, "Consent", consent_id, patient=grant.patient)
        raise Http404
    do_revoke_consent(
        consent, reason="Withdrawn by the patient", acting_user=request.user, request=request, role="patient"
    )
    messages.success(request, f"{consent.grantee_label} can no longer see your record.")
    return redirect("portal:sharing")
