"""A form built from an instrument definition: one field per question, named by its linkId
position (q1, q2…), choices by answer code, so the action gets exactly what a FHIR sender sends."""

from __future__ import annotations

from typing import Any

from django import forms

from tandem.measures.definitions import Definition, Item


def field_name(index: int) -> str:
    return f"q{index}"


SEX_CHOICES = [("", "Not recorded"), ("female", "Female"), ("male", "Male")]


class InstrumentForm(forms.Form):
    key = forms.CharField(widget=forms.HiddenInput, min_length=8, max_length=64)

    def __init__(self, *args: Any, definition: Definition, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.definition = definition
        self.links: dict[str, str] = {}
        for n, item in enumerate(definition.items, 1):
            name = field_name(n)
            self.links[name] = item.link_id
            self.fields[name] = _field(definition, item)
        if definition.bands_by_sex is not None:  # AUDIT-C: the positive threshold depends on sex
            self.fields["sex"] = forms.ChoiceField(
                label="Sex (for the scoring threshold)", choices=SEX_CHOICES, required=False
            )

    def answers(self) -> dict[str, Any]:
        return {self.links[name]: self.cleaned_data.get(name) for name in self.links}

    def name_for(self, link_id: str) -> str | None:
        return next((name for name, link in self.links.items() if link == link_id), None)

    def questions(self) -> list[dict[str, Any]]:
        """Each question with its bound field, for templates that lay out radios by hand."""
        rows = []
        for name, link_id in self.links.items():
            item = self.definition.item(link_id)
            bound = self[name]
            rows.append({"name": name, "item": item, "field": bound, "value": str(bound.value() or "")})
        return rows


def _field(defn: Definition, item: Item) -> forms.Field:
    # Nothing is required in the form: a form left incomplete is stored, marked not scored.
    label = f"{item.number}. {item.text}"
    if item.type == "choice":
        choices = [(o.code, o.display) for o in defn.options(item)]
        return forms.ChoiceField(
            label=label,
            choices=choices,
            required=False,
            widget=forms.RadioSelect,
            error_messages={"invalid_choice": "choose one of the answers"},
        )
    if item.type == "integer":
        assert item.min is not None and item.max is not None
        return forms.TypedChoiceField(
            label=label,
            choices=[(str(n), str(n)) for n in range(item.min, item.max + 1)],
            coerce=int,
            empty_value=None,
            required=False,
            widget=forms.RadioSelect,
            error_messages={"invalid_choice": f"choose a whole number from {item.min} to {item.max}"},
        )
    return forms.CharField(
        label=label,
        required=False,
        max_length=item.max_length or 2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
