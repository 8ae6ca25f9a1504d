"""The risk-assessment form: the C-SSRS screener by construct and LOINC code (no wording), the
risk level the clinician judged, actions taken, a rationale, and whether it resolves the flag."""

from __future__ import annotations

from typing import Any

from django import forms

from tandem.safety import assessment
from tandem.safety.models import RiskLevel

YES_NO = [("yes", "Yes"), ("no", "No"), ("", "Not asked")]


def cssrs_field(index: int) -> str:
    return f"c{index}"


class AssessmentForm(forms.Form):
    key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    risk_level = forms.ChoiceField(
        label="Risk level you judged (LOINC 93374-7 Suicide risk level)",
        choices=RiskLevel.choices,
        widget=forms.RadioSelect,
        required=False,
    )
    actions = forms.MultipleChoiceField(
        label="Actions taken",
        choices=list(assessment.ACTIONS.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    rationale = forms.CharField(
        label="What you found and why you judged this level",
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=8000,
        required=False,
    )
    resolves_flag = forms.BooleanField(label="This assessment resolves the safety flag", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.links: dict[str, str] = {}
        for n, q in enumerate(assessment.questions(), 1):
            name = cssrs_field(n)
            self.links[name] = q.link_id
            label = f"Question {q.number}: {q.construct} (LOINC {q.loinc})"
            self.fields[name] = forms.ChoiceField(
                label=label,
                choices=YES_NO,
                widget=forms.RadioSelect,
                required=False,
                help_text=q.asked_when,
            )

    def cssrs(self) -> dict[str, str]:
        return {link: self.cleaned_data.get(name) or "" for name, link in self.links.items()}

    def cssrs_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.links]

    def name_for(self, field: str) -> str | None:
        if field.startswith("cssrs:"):
            link = field.split(":", 1)[1]
            return next((n for n, lk in self.links.items() if lk == link), None)
        return field if field in self.fields else None
