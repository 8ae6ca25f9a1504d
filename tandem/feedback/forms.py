"""Portal forms: visit feedback (four 0–10 ratings, three free-text answers) and the daily
check-in. Each carries a hidden idempotency key; a bad answer is named by its field and
everything else typed stays in the form."""

from __future__ import annotations

from typing import Any

from django import forms

from tandem.feedback.actions import NOTE_MAX, FeedbackError, clean_note, clean_score, clean_sleep
from tandem.feedback.instrument import RATING_IDS, TEXT_IDS, visit_feedback

SCORES = [(str(n), str(n)) for n in range(11)]


def _rating_field(name: str) -> forms.TypedChoiceField:
    item = visit_feedback().item(name)
    message = f"choose a number from {item.min} to {item.max}"
    return forms.TypedChoiceField(
        label=item.text,
        choices=[(str(n), str(n)) for n in range(item.min, item.max + 1)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": message, "invalid_choice": message},
    )


def _text_field(name: str) -> forms.CharField:
    item = visit_feedback().item(name)
    return forms.CharField(
        label=item.text,
        required=False,
        max_length=item.max_length or None,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": f"keep it to {item.max_length} characters"},
    )


class VisitFeedbackForm(forms.Form):
    key = forms.CharField(widget=forms.HiddenInput, min_length=8, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in RATING_IDS:
            self.fields[name] = _rating_field(name)
        for name in TEXT_IDS:
            self.fields[name] = _text_field(name)

    def scales(self) -> list[dict[str, Any]]:
        """Each rating as the template draws it: question, anchors, options with the typed choice."""
        out = []
        for name in RATING_IDS:
            item = visit_feedback().item(name)
            bound = self[name]
            value = str(bound.value()) if bound.value() not in (None, "") else ""
            out.append(
                {
                    "name": name,
                    "text": item.text,
                    "short": item.short,
                    "low": item.anchor(item.min),
                    "high": item.anchor(item.max),
                    "errors": bound.errors,
                    "options": [
                        {"value": str(n), "checked": value == str(n)} for n in range(item.min, item.max + 1)
                    ],
                    "optional": False,
                }
            )
        return out


class CheckInForm(forms.Form):
    mood = forms.CharField(label="Mood today", required=False)
    anxiety = forms.CharField(label="Anxiety today", required=False)
    sleep_hours = forms.CharField(label="Hours slept last night", required=False)
    note = forms.CharField(
        label="One line about today (optional)",
        required=False,
        max_length=NOTE_MAX,
        error_messages={"max_length": f"keep it to {NOTE_MAX} characters"},
    )
    key = forms.CharField(widget=forms.HiddenInput, min_length=8, max_length=64)

    def _clean_with(self, name: str, cleaner: Any) -> Any:
        try:
            return cleaner(self.cleaned_data.get(name))
        except FeedbackError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_mood(self) -> int | None:
        return self._clean_with("mood", lambda v: clean_score("mood", v))

    def clean_anxiety(self) -> int | None:
        return self._clean_with("anxiety", lambda v: clean_score("anxiety", v))

    def clean_sleep_hours(self) -> Any:
        return self._clean_with("sleep_hours", clean_sleep)

    def clean_note(self) -> str:
        return self._clean_with("note", clean_note)

    def scales(self) -> list[dict[str, Any]]:
        out = []
        for name, text, low, high in (
            ("mood", "Mood today", "Very low", "Very good"),
            ("anxiety", "Anxiety today", "None", "Extreme"),
        ):
            bound = self[name]
            value = "" if bound.value() in (None, "") else str(bound.value())
            out.append(
                {
                    "name": name,
                    "text": text,
                    "short": text,
                    "low": low,
                    "high": high,
                    "errors": bound.errors,
                    "options": [{"value": str(n), "checked": value == str(n)} for n in range(11)],
                    "optional": True,
                    "skipped": value == "",
                }
            )
        return out
