"""Side-effect reports, clinician side: the prescriber reads the report and records a response.

Readers: the care team and clinicians consented for "medications" (as for every medication page).
Only a prescriber on the care team responds; anybody else posting gets 404, audited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.pagination import paginate
from tandem.medications import access
from tandem.medications.access import access_side_effect_report
from tandem.medications.actions import MedicationError
from tandem.medications.models import SideEffectReport, SideEffectResponse
from tandem.medications.side_effect_actions import do_respond_to_side_effect, open_alerts
from tandem.medications.side_effects import symptom_labels
from tandem.patients.access import PatientGrant
from tandem.patients.views import patient_tabs

ENTITY = "SideEffectReport"


def _base(grant: PatientGrant, **extra: Any) -> dict[str, Any]:
    return {
        "grant": grant,
        "patient": grant.patient,
        "tabs": patient_tabs(grant),
        "tab": "medications",
        "age": grant.patient.age_on(timezone.localdate()),
        "may_prescribe": access.may_prescribe(grant),
        **extra,
    }


@login_required
def side_effects(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_medications_patient(request, patient_id, entity=ENTITY)
    reports = SideEffectReport.objects.filter(patient=grant.patient).select_related("regimen", "responded_by")
    page = paginate(request, reports, per_page=25)
    rows = [{"report": r, "symptoms": symptom_labels(r.symptoms)} for r in page.object_list]
    return render(request, "medications/side_effects/list.html", _base(grant, page=page, rows=rows))


@login_required
@require_http_methods(["GET", "POST"])
def side_effect(request: AuthenticatedHttpRequest, patient_id: int, report_id: int) -> HttpResponse:
    posting = request.method == "POST"
    grant = access.access_medications_patient(request, patient_id, prescribe=posting, entity=ENTITY)
    report = access_side_effect_report(grant, request, report_id)
    errors: dict[str, str] = {}
    if posting:
        try:
            _, changed = do_respond_to_side_effect(
                report,
                response=request.POST.get("response", ""),
                note=request.POST.get("note", ""),
                acting_user=request.user,
                role=grant.role,
                request=request,
            )
        except MedicationError as exc:
            errors[exc.field] = str(exc)
        else:
            if changed:
                messages.success(
                    request, "Response recorded. The patient sees it in the portal; the alert is resolved."
                )
            return redirect("medications:side_effect", patient_id=grant.patient.pk, report_id=report.pk)
    context = _base(
        grant,
        report=report,
        symptoms=symptom_labels(report.symptoms),
        findings=report.triage,
        alerts=open_alerts(report),
        responses=SideEffectResponse.choices,
        errors=errors,
        other_errors=[message for field, message in errors.items() if field not in ("response", "note")],
        typed={"response": request.POST.get("response", ""), "note": request.POST.get("note", "")},
    )
    return render(request, "medications/side_effects/detail.html", context, status=400 if errors else 200)


urlpatterns = [
    path("<int:patient_id>/medications/side-effects/", side_effects, name="side_effects"),
    path("<int:patient_id>/medications/side-effects/<int:report_id>/", side_effect, name="side_effect"),
]
