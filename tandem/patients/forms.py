from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms

from tandem.accounts.models import Organisation, Role, User
from tandem.patients.models import PATIENT_FIELDS, Category, Patient

COMMON_ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
    "Europe/London",
    "Europe/Berlin",
]


class PatientForm(forms.ModelForm):
    """Identity and contact details. A bad value names its field; everything else typed is kept."""

    time_zone = forms.CharField(
        label="Time zone",
        help_text="IANA name, e.g. America/Chicago. Dose and session times follow it.",
        widget=forms.TextInput(attrs={"list": "tz-list", "autocomplete": "off"}),
    )

    class Meta:
        model = Patient
        fields = list(PATIENT_FIELDS)
        labels = {
            "given_name": "Given name",
            "family_name": "Family name",
            "preferred_name": "Preferred name",
            "date_of_birth": "Date of birth",
            "preferred_language": "Preferred language",
            "emergency_contact_name": "Emergency contact",
            "emergency_contact_phone": "Emergency contact phone",
            "emergency_contact_relationship": "Relationship to patient",
        }
        widgets = {"date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.fields["date_of_birth"].error_messages["invalid"] = "Enter the date of birth as YYYY-MM-DD."

    def clean_time_zone(self) -> str:
        value = self.cleaned_data["time_zone"].strip()
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(
                f"“{value}” is not a known time zone. Use a name such as America/Chicago."
            ) from None
        return value

    def clean_date_of_birth(self) -> Any:
        from django.utils import timezone

        dob = self.cleaned_data["date_of_birth"]
        if dob > timezone.localdate():
            raise forms.ValidationError("The date of birth is in the future.")
        if dob.year < 1900:
            raise forms.ValidationError("The date of birth is before 1900.")
        return dob

    def clean_mrn(self) -> str:
        mrn = self.cleaned_data["mrn"].strip()
        clash = Patient.objects.filter(organisation=self.organisation, mrn=mrn)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("Another patient of this organisation already has this MRN.")
        return mrn

    def validate_unique(self) -> None:
        # The organisation is not a form field; clean_mrn checks the one unique constraint.
        pass


class CareTeamForm(forms.Form):
    user = forms.ModelChoiceField(label="Clinician", queryset=User.objects.none())
    role = forms.ChoiceField(
        label="Role on the team", choices=[c for c in Role.choices if c[0] != Role.ORG_ADMIN]
    )

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = (  # type: ignore[attr-defined]
            User.objects.filter(
                is_active=True, memberships__organisation=organisation, memberships__is_active=True
            )
            .exclude(memberships__role=Role.ORG_ADMIN, memberships__organisation=organisation)
            .distinct()
            .order_by("full_name")
        )


class ConsentForm(forms.Form):
    grantee_user = forms.ModelChoiceField(
        label="Clinician outside this organisation", queryset=User.objects.none(), required=False
    )
    grantee_organisation = forms.ModelChoiceField(
        label="Or a whole organisation", queryset=Organisation.objects.none(), required=False
    )
    categories = forms.MultipleChoiceField(
        label="What to share",
        choices=Category.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Psychotherapy notes are never shared.",
    )
    purpose = forms.CharField(label="Purpose", max_length=300, required=False)
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(
        label="Until (optional)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grantee_user"].queryset = (  # type: ignore[attr-defined]
            User.objects.filter(is_active=True, memberships__is_active=True)
            .exclude(memberships__organisation_id=patient.organisation_id)
            .exclude(memberships__role=Role.ORG_ADMIN)
            .distinct()
            .order_by("full_name")
        )
        orgs = self.fields["grantee_organisation"]
        orgs.queryset = Organisation.objects.exclude(pk=patient.organisation_id)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("grantee_user")) == bool(data.get("grantee_organisation")):
            self.add_error("grantee_user", "Choose either one clinician or one organisation.")
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", "The end date is before the start date.")
        return data


class RevokeConsentForm(forms.Form):
    reason = forms.CharField(label="Reason for revoking", max_length=300)


class BreakGlassForm(forms.Form):
    mrn = forms.CharField(label="Patient MRN", max_length=40)
    reason = forms.CharField(
        label="Why you need this record now",
        min_length=15,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Written to the audit log; the patient's care team and your administrators are told.",
    )


class PatientSearchForm(forms.Form):
    q = forms.CharField(label="Search by name or MRN", required=False, max_length=100)
