from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from tandem.medications.models import ScheduleKind
from tandem.medications.schedule import parse_times

ROUTES = [
    ("oral", "By mouth"),
    ("sublingual", "Under the tongue"),
    ("im", "Injection (muscle)"),
    ("sc", "Injection (under the skin)"),
    ("transdermal", "Skin patch"),
    ("other", "Other"),
]


class TimesField(forms.CharField):
    """ "08:00, 20:00" → ["08:00", "20:00"], each checked."""

    def clean(self, value: Any) -> list[str]:
        text = super().clean(value) or ""
        parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
        try:
            return [t.strftime("%H:%M") for t in parse_times(parts)]
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class PrescriptionForm(forms.Form):
    dose_amount = forms.DecimalField(label="Dose", min_value=Decimal("0.001"), max_digits=9, decimal_places=3)
    dose_unit = forms.CharField(label="Unit", max_length=12, initial="mg")
    route = forms.ChoiceField(label="Route", choices=ROUTES, initial="oral")
    schedule_kind = forms.ChoiceField(
        label="Schedule", choices=ScheduleKind.choices, initial=ScheduleKind.SCHEDULED
    )
    times = TimesField(
        label="Times of day", required=False, help_text="In the patient's time zone, e.g. 08:00, 20:00"
    )
    every_days = forms.IntegerField(label="Every … days", min_value=1, max_value=14, initial=1)
    prn_max_per_day = forms.IntegerField(
        label="As needed: at most … a day", min_value=1, max_value=24, required=False
    )
    instructions = forms.CharField(label="Instructions for the patient", max_length=300, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("schedule_kind") == ScheduleKind.SCHEDULED
            and not data.get("times")
            and "times" not in self.errors
        ):
            self.add_error("times", "Give at least one time of day, or choose 'As needed'.")
        if data.get("schedule_kind") == ScheduleKind.AS_NEEDED:
            data["times"] = []
        return data


TITRATIONS = [
    ("", "None: the dose above from now on"),
    ("lamotrigine_standard", "Lamotrigine, standard titration"),
    ("lamotrigine_valproate", "Lamotrigine with valproate"),
    ("lamotrigine_inducer", "Lamotrigine with an enzyme inducer (e.g. carbamazepine)"),
]


class StartForm(PrescriptionForm):
    drug = forms.CharField(
        label="Medication",
        max_length=160,
        widget=forms.TextInput(attrs={"list": "drug-list", "autocomplete": "off"}),
        help_text="Choose from the list, or type a name that is not in it.",
    )
    indication = forms.CharField(label="Indication", max_length=200, required=False)
    reason = forms.CharField(label="Reason", max_length=500, initial="Start")
    titration = forms.ChoiceField(
        label="Titration",
        choices=TITRATIONS,
        required=False,
        help_text="Plans the dated steps of a published schedule; its first step replaces the dose above.",
    )
    override_reason = forms.CharField(
        label="Reason to go ahead despite the checks", max_length=500, required=False
    )
    confirmed = forms.CharField(widget=forms.HiddenInput, required=False)  # the checks already shown

    field_order = [
        "drug",
        "titration",
        "dose_amount",
        "dose_unit",
        "route",
        "schedule_kind",
        "times",
        "every_days",
        "prn_max_per_day",
        "instructions",
        "indication",
        "reason",
        "override_reason",
    ]


CHANGE_KINDS = [
    ("increase", "Increase the dose"),
    ("decrease", "Decrease the dose"),
    ("change", "Change times or route"),
    ("taper", "Taper (planned steps down)"),
    ("hold", "Hold"),
    ("resume", "Resume"),
    ("stop", "Stop"),
]


class ChangeForm(PrescriptionForm):
    kind = forms.ChoiceField(label="Change", choices=CHANGE_KINDS)
    reason = forms.CharField(label="Reason", max_length=500)
    taper_to_mg = forms.DecimalField(
        label="Taper: down to (mg a day)",
        min_value=Decimal(0),
        max_digits=9,
        decimal_places=3,
        required=False,
    )
    taper_step_mg = forms.DecimalField(
        label="Taper: by (mg a day each step)",
        min_value=Decimal("0.001"),
        max_digits=9,
        decimal_places=3,
        required=False,
    )
    taper_every_days = forms.IntegerField(
        label="Taper: every (days)", min_value=1, max_value=90, required=False
    )
    override_reason = forms.CharField(
        label="Reason to go ahead despite the checks", max_length=500, required=False
    )
    confirmed = forms.CharField(widget=forms.HiddenInput, required=False)  # the checks already shown

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("kind") == "taper":
            for name in ("taper_to_mg", "taper_step_mg", "taper_every_days"):
                if data.get(name) in (None, ""):
                    self.add_error(name, "Needed for a taper.")
        return data

    field_order = [
        "kind",
        "taper_to_mg",
        "taper_step_mg",
        "taper_every_days",
        "dose_amount",
        "dose_unit",
        "route",
        "schedule_kind",
        "times",
        "every_days",
        "prn_max_per_day",
        "instructions",
        "reason",
        "override_reason",
    ]
