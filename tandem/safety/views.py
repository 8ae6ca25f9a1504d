"""Clinician pages: the patient's safety workflow (flag, triggers, alerts, task, assessments,
the crisis resources the patient is shown) and documenting a risk assessment."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from tandem.lib.http import AuthenticatedHttpRequest
from tandem.patients.access import PatientGrant
from tandem.patients.views import patient_tabs
from tandem.safety import assessment
from tandem.safety.access import access_safety_patient, may_assess
from tandem.safety.actions import SafetyError, do_document_assessment
from tandem.safety.crisis import resources_for
from tandem.safety.forms import AssessmentForm
from tandem.safety.models import FlagStatus, RiskAssessment, SafetyFlag


def _base(grant: PatientGrant, **extra: Any) -> dict[str, Any]:
    return {
        "grant": grant,
        "patient": grant.patient,
        "tabs": patient_tabs(grant),
        "tab": "safety",
        "age": grant.patient.age_on(timezone.localdate()),
        **extra,
    }


@login_required
def overview(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access_safety_patient(request, patient_id)
    flags = list(
        SafetyFlag.objects.filter(patient=grant.patient)
        .select_related("resolved_by", "resolved_by_assessment", "task")
        .prefetch_related("triggers__alert")[:20]
    )
    assessments = list(
        RiskAssessment.objects.filter(patient=grant.patient).select_related("assessed_by")[:50]
    )
    questions = {q.link_id: q for q in assessment.questions()}
    rows = [
        {
            "a": a,
            "actions": [assessment.ACTIONS.get(k, k) for k in a.actions],
            "yes": [questions[link] for link, v in a.cssrs.items() if v == "yes" and link in questions],
        }
        for a in assessments
    ]
    context = _base(
        grant,
        open_flag=next((f for f in flags if f.status == FlagStatus.OPEN), None),
        flags=flags,
        assessments=rows,
        can_assess=may_assess(grant),
        crisis=resources_for(grant.patient),
    )
    return render(request, "safety/overview.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def assess(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access_safety_patient(request, patient_id, assess=True)
    flag = SafetyFlag.objects.filter(patient=grant.patient, status=FlagStatus.OPEN).first()
    if request.method != "POST":
        form = AssessmentForm(initial={"key": secrets.token_urlsafe(16), "resolves_flag": False})
        return _form(request, grant, form, flag, 200)
    form = AssessmentForm(request.POST)
    if form.is_valid():
        try:
            do_document_assessment(
                grant.patient,
                cssrs=form.cssrs(),
                risk_level=form.cleaned_data["risk_level"],
                actions=form.cleaned_data["actions"],
                rationale=form.cleaned_data["rationale"],
                resolves_flag=form.cleaned_data["resolves_flag"],
                idempotency_key=form.cleaned_data["key"],
                acting_user=request.user,
                role=grant.role,
                request=request,
            )
        except SafetyError as exc:
            form.add_error(form.name_for(exc.field), str(exc))
        else:
            messages.success(request, "Risk assessment documented.")
            return redirect("safety:overview", patient_id=grant.patient.pk)
    return _form(request, grant, form, flag, 400)


def _form(
    request: AuthenticatedHttpRequest,
    grant: PatientGrant,
    form: AssessmentForm,
    flag: SafetyFlag | None,
    status: int,
) -> HttpResponse:
    context = _base(
        grant,
        form=form,
        open_flag=flag,
        triggers=list(flag.triggers.all()) if flag else [],
        wording_note=assessment.WORDING_NOTE,
        level_sources=assessment.level_sources(),
        procedure=assessment.PROCEDURE_CODE,
    )
    return render(request, "safety/assess.html", context, status=status)
