"""The clinician's alert inbox and a patient's alerts: acknowledge and resolve with a note.

From the inbox, acknowledging and resolving answer an htmx request with the alert's card (the
page stays where it was) and a plain POST with a redirect back to the same filters and page.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from tandem.accounts.access import clinical_org_ids, primary_role
from tandem.audit.actions import record_audit
from tandem.audit.models import Action
from tandem.collab import access, actions
from tandem.collab import inbox as inbox_query
from tandem.collab.models import Alert, Severity
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.patients.access import PatientGrant
from tandem.patients.views import _clinician_only, patient_tabs


@login_required
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The clinician's alerts across their caseload, most urgent first; filters name bad values."""
    _clinician_only(request)
    filters = inbox_query.parse_filters(request.GET)
    page = inbox_query.inbox_page(int(request.user.pk), filters)
    alerts = list(page.object_list)
    record_audit(
        actor=request.user,
        action=Action.READ,
        entity_type="AlertInbox",
        role=primary_role(request.user),
        organisation=min(clinical_org_ids(request.user)),
        request=request,
        extra={
            "filters": filters.query_string(),
            "page": page.number,
            "alerts": [a.pk for a in alerts],
            "patients": sorted({a.patient_id for a in alerts}),
        },
    )
    context = {
        "page": page,
        "alerts": alerts,
        "filters": filters,
        "back": filters.query_string(page=str(page.number)) if page.number > 1 else filters.query_string(),
        "severities": Severity.choices,
        "kinds": inbox_query.kind_choices(),
        "states": list(inbox_query.STATES.items()),
    }
    return render(request, "collab/inbox.html", context, status=400 if filters.errors else 200)


@login_required
def patient_alerts(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_alerts_patient(request, patient_id)
    alerts = list(
        access.by_urgency(Alert.objects.filter(patient=grant.patient))
        .select_related("acknowledged_by", "resolved_by")
        .prefetch_related("escalations__notified")[:100]
    )
    return render(
        request,
        "collab/patient_alerts.html",
        {
            "grant": grant,
            "patient": grant.patient,
            "tabs": patient_tabs(grant),
            "tab": "alerts",
            "age": grant.patient.age_on(timezone.localdate()),
            "alerts": alerts,
            "show_escalations": True,
        },
    )


def _back(request: AuthenticatedHttpRequest, grant: PatientGrant) -> HttpResponse:
    """Back to the inbox with the same filters (re-read, so only valid ones), or the patient's alerts."""
    if request.POST.get("next") != "inbox":
        return redirect("collab:patient_alerts", patient_id=grant.patient.pk)
    filters = inbox_query.parse_filters(QueryDict(request.POST.get("back", "")[:500]))
    query = filters.query_string(page=filters.page) if filters.page != "1" else filters.query_string()
    return redirect(reverse("collab:inbox") + (f"?{query}" if query else ""))


def _card(request: AuthenticatedHttpRequest, alert: Alert, error: str = "") -> HttpResponse:
    alert = Alert.objects.select_related("patient", "acknowledged_by", "resolved_by").get(pk=alert.pk)
    return render(
        request,
        "collab/_alert.html",
        {"a": alert, "show_patient": True, "back": request.POST.get("back", "")[:500], "card_error": error},
    )


@login_required
@require_POST
def acknowledge(request: AuthenticatedHttpRequest, patient_id: int, alert_id: int) -> HttpResponse:
    grant = access.access_alerts_patient(request, patient_id)
    alert = access.access_alert(grant, request, alert_id)
    alert = actions.do_acknowledge_alert(alert, acting_user=request.user, role=grant.role, request=request)
    if request.htmx and request.POST.get("next") == "inbox":
        return _card(request, alert)
    messages.success(request, "Alert acknowledged.")
    return _back(request, grant)


@login_required
@require_POST
def resolve(request: AuthenticatedHttpRequest, patient_id: int, alert_id: int) -> HttpResponse:
    grant = access.access_alerts_patient(request, patient_id)
    alert = access.access_alert(grant, request, alert_id)
    error = ""
    try:
        alert = actions.do_resolve_alert(
            alert,
            note=request.POST.get("note", ""),
            acting_user=request.user,
            role=grant.role,
            request=request,
        )
    except actions.AlertError as exc:
        error = f"How it was resolved: {exc}"
    if request.htmx and request.POST.get("next") == "inbox":
        return _card(request, alert, error)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Alert resolved.")
    return _back(request, grant)
