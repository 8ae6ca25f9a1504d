"""Forms for editing one section of a plan at a time. The forms catch malformed input field by
field; the plan schema (schema.py) then checks the content as a whole, and its errors are put
back on the row and field they belong to."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms import BaseFormSet, formset_factory
from pydantic import ValidationError

from tandem.accounts.models import User
from tandem.plans.schema import COMPARATORS, GOAL_MEASURES, INSTRUMENTS, MODALITIES, SECTIONS, field_errors

ROLE_SUGGESTIONS = ["therapist", "prescriber", "care manager", "psychiatric consultant", "patient"]


class ItemForm(forms.Form):
    key = forms.CharField(widget=forms.HiddenInput, required=False)

    def item(self) -> dict[str, Any] | None:
        """The cleaned row as a schema item, or None for a deleted row or an untouched blank one."""
        if self.cleaned_data.get("DELETE"):
            return None
        if not self.cleaned_data.get("key") and not self.has_changed():
            return None
        return {k: v for k, v in self.cleaned_data.items() if k != "DELETE" and v not in (None, "")}


class ProblemForm(ItemForm):
    code = forms.CharField(label="ICD-10-CM code", max_length=8, required=False, help_text="e.g. F33.1")
    text = forms.CharField(label="Problem", max_length=1000)

    def item(self) -> dict[str, Any] | None:
        item = super().item()
        if item is not None:
            item.setdefault("code", "")
        return item


class GoalForm(ItemForm):
    kind = forms.ChoiceField(
        label="Whose words",
        choices=[("clinical", "Clinical target"), ("patient", "The patient's own words")],
        initial="clinical",
    )
    text = forms.CharField(label="Goal", max_length=1000)
    measure = forms.ChoiceField(
        label="Measured by",
        required=False,
        choices=[("", "—"), *[(k, v["label"]) for k, v in GOAL_MEASURES.items()]],
    )
    comparator = forms.ChoiceField(label="Target", required=False, choices=[("", "—"), *COMPARATORS.items()])
    target = forms.DecimalField(label="Target score", required=False, max_digits=5, decimal_places=1)
    target_date = forms.DateField(label="By", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def item(self) -> dict[str, Any] | None:
        item = super().item()
        if item is not None:
            if "target" in item:
                item["target"] = float(item["target"])
            if "target_date" in item:
                item["target_date"] = item["target_date"].isoformat()
        return item


class TherapyForm(ItemForm):
    modality = forms.ChoiceField(
        label="Modality", choices=[(k, v["label"]) for k, v in MODALITIES.items()], initial="cbt"
    )
    modality_other = forms.CharField(label="Other modality", max_length=300, required=False)
    therapist_id = forms.TypedChoiceField(label="Therapist", coerce=int, required=False, empty_value=None)
    frequency = forms.CharField(label="Frequency", max_length=300, required=False, help_text="e.g. weekly")
    planned_sessions = forms.IntegerField(
        label="Planned sessions", min_value=1, max_value=200, required=False
    )
    focus = forms.CharField(
        label="Focus", max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, therapists: list[User] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["therapist_id"]
        field.choices = [("", "—"), *[(u.pk, u.display_name) for u in therapists or []]]  # type: ignore[attr-defined]


class MedicationForm(forms.Form):
    approach = forms.CharField(
        label="Medication approach",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Until regimens are recorded: the intended approach, e.g. start sertraline 50 mg, review at 4 weeks.",
    )


class MonitoringForm(ItemForm):
    instrument = forms.ChoiceField(label="Instrument", choices=list(INSTRUMENTS.items()), initial="phq9")
    every_days = forms.IntegerField(label="Every (days)", min_value=1, max_value=365)


class ResponsibilityForm(ItemForm):
    who = forms.CharField(label="Who", max_length=300, widget=forms.TextInput(attrs={"list": "plan-roles"}))
    what = forms.CharField(label="Does what", max_length=1000)


class AgreementForm(ItemForm):
    text = forms.CharField(
        label="Agreement", max_length=1000, help_text="e.g. tell the therapist after every medication change"
    )


ITEM_FORMS: dict[str, type[ItemForm]] = {
    "problems": ProblemForm,
    "goals": GoalForm,
    "therapy": TherapyForm,
    "monitoring": MonitoringForm,
    "responsibilities": ResponsibilityForm,
    "communication": AgreementForm,
}


class ChangeForm(forms.Form):
    base_revision = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label="What changed and why", max_length=500)


def section_formset(
    section: str,
    *,
    data: Any = None,
    items: list[dict[str, Any]] | None = None,
    therapists: list[User] | None = None,
) -> BaseFormSet:
    form_class = ITEM_FORMS[section]
    formset_class = formset_factory(form_class, extra=1 if items else 2, can_delete=True, max_num=30)
    kwargs: dict[str, Any] = {"prefix": section}
    if section == "therapy":
        kwargs["form_kwargs"] = {"therapists": therapists or []}
    if data is not None:
        return formset_class(data, **kwargs)
    return formset_class(initial=items or [], **kwargs)


def section_value(section: str, formset_or_form: Any) -> tuple[Any, dict[int, int]]:
    """The section's content from a valid bound formset (or the medication form), and a map from
    the position in that content to the formset row it came from."""
    if section == "medication":
        return {"approach": formset_or_form.cleaned_data["approach"]}, {}
    items: list[dict[str, Any]] = []
    rows: dict[int, int] = {}
    for row, form in enumerate(formset_or_form.forms):
        item = form.item() if form.is_valid() else None
        if item is not None:
            rows[len(items)] = row
            items.append(item)
    return items, rows


def attach_schema_errors(section: str, exc: ValidationError, target: Any, rows: dict[int, int]) -> list[str]:
    """Put schema errors on the formset row and field they name; return the rest."""
    leftovers = []
    for where, messages in field_errors(exc).items():
        parts = where.split(".")
        if parts[0] != section:
            leftovers += messages
            continue
        if section == "medication":
            field = parts[1] if len(parts) > 1 else None
            for message in messages:
                target.add_error(field if field in target.fields else None, message)
            continue
        if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) in rows:
            form = target.forms[rows[int(parts[1])]]
            field = parts[2] if len(parts) > 2 and parts[2] in form.fields else None
            for message in messages:
                form.add_error(field, message)
        else:
            leftovers += messages
    return leftovers


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("active", "active"), ("completed", "completed"), ("discontinued", "discontinued")]
    )
    reason = forms.CharField(label="Reason", max_length=300, required=False)


class CommentForm(forms.Form):
    text = forms.CharField(label="Comment", max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))
    section = forms.ChoiceField(
        label="About", required=False, choices=[("", "The whole plan"), *SECTIONS.items()]
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "accept"), ("decline", "decline")])
    note = forms.CharField(label="Note", max_length=500, required=False)


class AnswerForm(forms.Form):
    answer = forms.CharField(label="Answer", max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))
