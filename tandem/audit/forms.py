from __future__ import annotations

from django import forms

from tandem.audit.models import Action


class AuditSearchForm(forms.Form):
    actor = forms.CharField(label="Who (email)", required=False, max_length=254)
    patient = forms.CharField(label="Patient MRN", required=False, max_length=40)
    action = forms.ChoiceField(label="Action", required=False, choices=[("", "Any"), *Action.choices])
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="Until", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "The end date is before the start date.")
        return data
