"""Side effects in the portal: the patient reports one (FIBSER, a checklist, their own words and
the medicine they suspect), sees at once what to do when it is urgent, and later reads their
prescriber's response. A hidden idempotency key makes a double submit record one report."""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.pagination import paginate
from tandem.medications.access import access_side_effect_report
from tandem.medications.actions import MedicationError
from tandem.medications.models import Regimen, RegimenStatus, SideEffectReport
from tandem.medications.queries import prescriber_names
from tandem.medications.side_effect_actions import do_report_side_effect
from tandem.medications.side_effects import FIBSER_ITEMS, FIBSER_MAX, SYMPTOMS, symptom_labels
from tandem.patients.access import PatientGrant, access_own_patient
from tandem.patients.models import Patient

ENTITY = "SideEffectReport"
NOT_SURE = "not_sure"
SCORES = [(n, str(n)) for n in range(FIBSER_MAX + 1)]
# Short names of the FIBSER questions, for error messages and the summary.
FIBSER_SHORT = {"frequency": "How often", "intensity": "How strong", "burden": "How much it gets in the way"}
SHORT_NAMES = {"regimen": "Medicine", "symptoms": "Symptoms", "text": "Tell us more", **FIBSER_SHORT}


def _score_field(name: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=FIBSER_SHORT[name],
        choices=SCORES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": f"choose a number from 0 to {FIBSER_MAX}",
            "invalid_choice": f"choose a number from 0 to {FIBSER_MAX}",
        },
    )


class SideEffectForm(forms.Form):
    regimen = forms.ChoiceField(
        label="Which medicine do you think is causing it?",
        error_messages={"required": "choose a medicine, or “I'm not sure”"},
    )
    symptoms = forms.MultipleChoiceField(
        label="What have you noticed?",
        required=False,
        choices=list(SYMPTOMS.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    frequency = _score_field("frequency")
    intensity = _score_field("intensity")
    burden = _score_field("burden")
    text = forms.CharField(
        label="Tell us more (optional)",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    key = forms.CharField(widget=forms.HiddenInput, min_length=8, max_length=64)

    def __init__(self, *args: Any, regimens: list[Regimen], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.regimens = {str(r.pk): r for r in regimens}
        choices = [("", "Choose…"), *((str(r.pk), r.drug_name) for r in regimens), (NOT_SURE, "I'm not sure")]
        self.fields["regimen"].choices = choices  # type: ignore[attr-defined]

    def chosen_regimen(self) -> Regimen | None:
        return self.regimens.get(self.cleaned_data["regimen"])


def _current_regimens(patient: Patient) -> list[Regimen]:
    return list(
        Regimen.objects.filter(
            patient=patient, status__in=[RegimenStatus.ACTIVE, RegimenStatus.HELD]
        ).order_by("drug_name", "pk")
    )


def _fibser(form: SideEffectForm) -> list[dict[str, Any]]:
    items = []
    for name, item in FIBSER_ITEMS.items():
        bound = form[name]
        value = str(bound.value()) if bound.value() not in (None, "") else ""
        items.append(
            {
                "name": name,
                "question": item["question"],
                "short": FIBSER_SHORT[name],
                "errors": bound.errors,
                "options": [
                    {"value": str(n), "anchor": item["anchors"].get(n, ""), "checked": value == str(n)}
                    for n in range(FIBSER_MAX + 1)
                ],
            }
        )
    return items


def _form_page(
    grant: PatientGrant, form: SideEffectForm, status: int, request: AuthenticatedHttpRequest
) -> HttpResponse:
    context = {
        "patient": grant.patient,
        "form": form,
        "fibser": _fibser(form),
        "prescribers": prescriber_names(grant.patient),
        "problems": [
            SHORT_NAMES[name] for name in form.fields if name in form.errors and name in SHORT_NAMES
        ],
    }
    return render(request, "portal/side_effect_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def report_side_effect(request: AuthenticatedHttpRequest) -> HttpResponse:
    posting = request.method == "POST"
    grant = access_own_patient(request, entity=ENTITY, audit_read=not posting)
    patient = grant.patient
    regimens = _current_regimens(patient)
    if not posting:
        form = SideEffectForm(initial={"key": secrets.token_urlsafe(16)}, regimens=regimens)
        return _form_page(grant, form, 200, request)
    data = request.POST.copy()
    expired = not 8 <= len(data.get("key", "").strip()) <= 64
    if expired:  # no usable key: nothing is recorded; a fresh key for the next try
        data["key"] = secrets.token_urlsafe(16)
    form = SideEffectForm(data, regimens=regimens)
    if expired:
        form.is_valid()
        form.add_error(None, "This form could not be sent. Check your answers and send it again.")
        return _form_page(grant, form, 400, request)
    if form.is_valid():
        try:
            report, _ = do_report_side_effect(
                patient,
                regimen=form.chosen_regimen(),
                frequency=form.cleaned_data["frequency"],
                intensity=form.cleaned_data["intensity"],
                burden=form.cleaned_data["burden"],
                symptoms=form.cleaned_data["symptoms"],
                text=form.cleaned_data["text"],
                idempotency_key=form.cleaned_data["key"],
                acting_user=request.user,
                request=request,
            )
        except MedicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            return redirect(reverse("portal:side_effect_detail", kwargs={"report_id": report.pk}) + "?sent=1")
    return _form_page(grant, form, 400, request)


@login_required
def side_effects(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The patient's own reports, newest first, with their prescriber's responses."""
    grant = access_own_patient(request, entity=ENTITY)
    reports = SideEffectReport.objects.filter(patient=grant.patient).select_related("regimen", "responded_by")
    page = paginate(request, reports, per_page=20)
    rows = [{"report": r, "symptoms": symptom_labels(r.symptoms)} for r in page.object_list]
    return render(request, "portal/side_effects.html", {"patient": grant.patient, "page": page, "rows": rows})


@login_required
def side_effect_detail(request: AuthenticatedHttpRequest, report_id: int) -> HttpResponse:
    grant = access_own_patient(request, entity=ENTITY)
    report = access_side_effect_report(grant, request, report_id)
    context = {
        "patient": grant.patient,
        "report": report,
        "symptoms": symptom_labels(report.symptoms),
        "prescribers": prescriber_names(grant.patient),
        "sent": request.GET.get("sent") == "1",
        "urgent": report.severity == "urgent" and not report.response,
    }
    return render(request, "portal/side_effect.html", context)
