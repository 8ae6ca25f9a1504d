from __future__ import annotations

from typing import Any

from django import forms

from tandem.practice.models import Frequency
from tandem.practice.templates_data import MAX_PROMPTS, template_choices


class AssignForm(forms.Form):
    template = forms.ChoiceField(
        label="Worksheet",
        widget=forms.RadioSelect,
        choices=[(kind, f"{title} — {summary}") for kind, title, summary in template_choices()],
        error_messages={"required": "choose a worksheet"},
    )
    title = forms.CharField(
        label="Title",
        required=False,
        max_length=120,
        help_text="Needed for your own worksheet; otherwise the worksheet's name is used.",
    )
    prompts = forms.CharField(
        label="Prompts (your own worksheet)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=f"One question per line, up to {MAX_PROMPTS}.",
    )
    instructions = forms.CharField(
        label="Instructions for the patient",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    frequency = forms.ChoiceField(
        label="How often", choices=Frequency.choices, error_messages={"required": "choose how often"}
    )
    times_per_week = forms.IntegerField(
        label="Times a week",
        min_value=1,
        max_value=7,
        required=False,
        help_text="For “a number of times a week”: 1 to 7.",
        error_messages={
            "min_value": "enter a number from 1 to 7",
            "max_value": "enter a number from 1 to 7",
            "invalid": "enter a number from 1 to 7",
        },
    )
    start = forms.DateField(
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "enter a date"},
    )
    end = forms.DateField(
        label="Until (or the due date)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The due date for “once”; leave empty for no end.",
        error_messages={"invalid": "enter a date"},
    )

    def prompt_list(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data.get("prompts", "").splitlines() if line.strip()]

    def action_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "template": data["template"],
            "frequency": data["frequency"],
            "start": data["start"],
            "end": data.get("end"),
            "times_per_week": data.get("times_per_week") or 1,
            "title": data.get("title", ""),
            "prompts": self.prompt_list(),
            "instructions": data.get("instructions", ""),
        }
