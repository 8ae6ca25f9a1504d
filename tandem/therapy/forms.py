from __future__ import annotations

from typing import Any

from django import forms

from tandem.therapy.models import Modality, SessionKind, SessionStatus, Setting
from tandem.therapy.rules import MAX_OCCURRENCES


class DateInput(forms.DateInput):
    input_type = "date"


class TimeInput(forms.TimeInput):
    input_type = "time"


class ScheduleForm(forms.Form):
    kind = forms.ChoiceField(label="Kind of visit", choices=SessionKind.choices, initial=SessionKind.THERAPY)
    clinician = forms.TypedChoiceField(
        label="Clinician",
        coerce=int,
        help_text="Therapy sessions are with a therapist, medication visits with a prescriber.",
    )
    modality = forms.ChoiceField(
        label="Therapy modality", choices=[("", "—"), *Modality.choices], required=False
    )
    date = forms.DateField(label="Date", widget=DateInput)
    time = forms.TimeField(label="Time", widget=TimeInput, help_text="In the patient's time zone.")
    duration_minutes = forms.IntegerField(label="Length (minutes)", min_value=5, max_value=480, initial=50)
    setting = forms.ChoiceField(label="Where", choices=Setting.choices, initial=Setting.IN_PERSON)
    place = forms.CharField(
        label="Place", max_length=200, required=False, help_text="e.g. Room 3, 12 Main St"
    )
    telehealth_url = forms.CharField(
        label="Video link",
        max_length=500,
        required=False,
        help_text="For telehealth: a secure link starting with https://",
        widget=forms.URLInput,
    )
    repeat = forms.BooleanField(label="Repeat", required=False)
    interval_weeks = forms.IntegerField(label="Every … weeks", min_value=1, max_value=12, initial=1)
    count = forms.IntegerField(
        label="Number of sessions", min_value=1, max_value=MAX_OCCURRENCES, required=False
    )
    until = forms.DateField(label="Or until (inclusive)", required=False, widget=DateInput)
    key = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)
    confirmed = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, clinicians: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["clinician"].choices = clinicians  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        no_end = data.get("count") is None and data.get("until") is None
        if data.get("repeat") and no_end and "count" not in self.errors:
            self.add_error("count", "Give a number of sessions or an end date.")
        return data


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        label="What happened",
        choices=[(v, label) for v, label in SessionStatus.choices if v != SessionStatus.SCHEDULED],
    )
    reason = forms.CharField(
        label="Reason",
        max_length=300,
        required=False,
        help_text="Needed to cancel, and to correct an outcome already recorded.",
    )


class MoveForm(forms.Form):
    date = forms.DateField(label="New date", widget=DateInput)
    time = forms.TimeField(label="New time", widget=TimeInput, help_text="In the patient's time zone.")
    duration_minutes = forms.IntegerField(label="Length (minutes)", min_value=5, max_value=480)
    reason = forms.CharField(label="Reason", max_length=300, required=False)
    confirmed = forms.CharField(widget=forms.HiddenInput, required=False)


class CancelSeriesForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=300)


class PortalCancelForm(forms.Form):
    reason = forms.CharField(label="Why can't you come?", max_length=300)
