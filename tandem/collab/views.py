from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from tandem.collab import access, actions
from tandem.collab.models import Alert
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.patients.views import _clinician_only, patient_tabs


@login_required
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The clinician's open alerts across their caseload, most urgent first."""
    _clinician_only(request)
    return render(request, "collab/inbox.html", {"alerts": access.open_alerts_for(request.user)})


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


@login_required
@require_POST
def acknowledge(request: AuthenticatedHttpRequest, patient_id: int, alert_id: int) -> HttpResponse:
    grant = access.access_alerts_patient(request, patient_id)
    alert = access.access_alert(grant, request, alert_id)
    actions.do_acknowledge_alert(alert, acting_user=request.user, role=grant.role, request=request)
    messages.success(request, "Alert acknowledged.")
    if request.POST.get("next") == "inbox":
        return redirect("collab:inbox")
    return redirect("collab:patient_alerts", patient_id=grant.patient.pk)


@login_required
@require_POST
def resolve(request: AuthenticatedHttpRequest, patient_id: int, alert_id: int) -> HttpResponse:
    grant = access.access_alerts_patient(request, patient_id)
    alert = access.access_alert(grant, request, alert_id)
    try:
        actions.do_resolve_alert(
            alert,
            note=request.POST.get("note", ""),
            acting_user=request.user,
            role=grant.role,
            request=request,
        )
        messages.success(request, "Alert resolved.")
    except actions.AlertError as exc:
        messages.error(request, str(exc))
    return redirect("collab:patient_alerts", patient_id=grant.patient.pk)
