"""Fills in the portal: the patient says they picked up a medicine (which one, the date, how many
days it lasts) and sees the fills recorded for them. A hidden key makes a double submit record
one fill."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.timezones import local_date
from tandem.medications.actions import MedicationError
from tandem.medications.fills import DAYS_SUPPLY_MAX, ENTITY, check_days_supply, do_record_fill
from tandem.medications.models import Fill, FillSource, Regimen, RegimenStatus
from tandem.patients.access import PatientGrant, access_own_patient

RECENT = 10
SHORT_NAMES = {"regimen": "Medicine", "fill_date": "Date picked up", "days_supply": "How many days"}


class PortalFillForm(forms.Form):
    regimen = forms.ChoiceField(
        label="Which medicine did you pick up?", error_messages={"required": "choose the medicine"}
    )
    fill_date = forms.DateField(
        label="Date picked up",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "give the date", "invalid": "give a date like 2026-01-31"},
    )
    days_supply = forms.IntegerField(
        label="How many days does it last?",
        help_text="Often 30 or 90. It is on the label or ask your pharmacist.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 1, "max": DAYS_SUPPLY_MAX}),
        error_messages={"required": "give the number of days", "invalid": "give a whole number of days"},
    )
    key = forms.CharField(widget=forms.HiddenInput, min_length=8, max_length=64)

    def __init__(self, *args: Any, regimens: list[Regimen], today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["fill_date"].widget.attrs["max"] = today.isoformat()
        self.regimens = {str(r.pk): r for r in regimens}
        self.fields["regimen"].choices = [("", "Choose…"), *((str(r.pk), r.drug_name) for r in regimens)]  # type: ignore[attr-defined]

    def clean_fill_date(self) -> date:
        value: date = self.cleaned_data["fill_date"]
        if value > self.today:
            raise forms.ValidationError("is in the future")
        return value

    def clean_days_supply(self) -> int:
        try:
            return check_days_supply(self.cleaned_data["days_supply"])
        except MedicationError as exc:
            raise forms.ValidationError(str(exc)) from None


def _regimens(grant: PatientGrant) -> list[Regimen]:
    return list(
        Regimen.objects.filter(
            patient=grant.patient, status__in=[RegimenStatus.ACTIVE, RegimenStatus.HELD]
        ).order_by("drug_name", "pk")
    )


def _page(
    request: AuthenticatedHttpRequest, grant: PatientGrant, form: PortalFillForm, status: int
) -> HttpResponse:
    context = {
        "patient": grant.patient,
        "form": form,
        "fills": list(Fill.objects.filter(patient=grant.patient).order_by("-fill_date", "-pk")[:RECENT]),
        "problems": [SHORT_NAMES[name] for name in SHORT_NAMES if name in form.errors],
    }
    return render(request, "portal/fills.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def fills(request: AuthenticatedHttpRequest) -> HttpResponse:
    posting = request.method == "POST"
    grant = access_own_patient(request, entity=ENTITY, audit_read=not posting)
    patient = grant.patient
    regimens = _regimens(grant)
    today = local_date(timezone.now(), patient.time_zone)
    if not posting:
        form = PortalFillForm(
            initial={"key": secrets.token_urlsafe(16), "fill_date": today}, regimens=regimens, today=today
        )
        return _page(request, grant, form, 200)
    data = request.POST.copy()
    if not 8 <= len(data.get("key", "").strip()) <= 64:
        data["key"] = secrets.token_urlsafe(16)
    form = PortalFillForm(data, regimens=regimens, today=today)
    if form.is_valid():
        try:
            fill, _ = do_record_fill(
                patient,
                regimen_or_drug=form.regimens[form.cleaned_data["regimen"]],
                fill_date=form.cleaned_data["fill_date"],
                days_supply=form.cleaned_data["days_supply"],
                source=FillSource.PATIENT,
                external_id=f"portal:{form.cleaned_data['key']}",
                acting_user=request.user,
                request=request,
                role="patient",
            )
        except MedicationError as exc:
            if exc.field == "external_id":
                data["key"] = secrets.token_urlsafe(16)  # the form's data: shown with a fresh key
                form.add_error(None, "This form was already sent. Check your answers and send it again.")
            else:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(
                request, f"Thank you. {fill.drug_name} picked up on {fill.fill_date:%-d %B} is recorded."
            )
            return redirect("portal:fills")
    return _page(request, grant, form, 400)
