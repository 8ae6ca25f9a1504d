"""Checking a filled-in worksheet against its template, and laying it out for a form or a review.

`clean()` is pure: the values as posted in, (answers, errors by form name) out. A rating out of
its range is refused by its field, with the range in the message; nothing is dropped from what
was typed (drafts keep the raw values, and the form is shown again with them).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from tandem.practice.templates_data import (
    CHOICE,
    DATE,
    RATING,
    TEXT,
    TEXTAREA,
    YESNO,
    Field,
    Group,
    Rerate,
    Template,
)

TEXT_MAX = {TEXT: 300, TEXTAREA: 4000}
RAW_MAX_KEYS = 200
RAW_MAX_VALUE = 4000


def form_names(template: Template) -> list[str]:
    """Every name the template's form posts, in form order."""
    names: list[str] = []
    for item in template.items():
        if isinstance(item, Field):
            names.append(item.name)
        elif isinstance(item, Group):
            for i in range(item.rows):
                names.extend(f"{item.name}-{i}-{c.name}" for c in item.columns)
            if item.marker:
                names.append(item.marker)
        else:
            names.extend(f"{item.group}-{i}-{item.name}" for i in range(template.group(item.group).rows))
    return names


def raw_values(template: Template, posted: Mapping[str, Any]) -> dict[str, str]:
    """The template's values from a POST, as typed (cut to a sane size), empty ones left out."""
    raw: dict[str, str] = {}
    for name in form_names(template)[:RAW_MAX_KEYS]:
        value = posted.get(name)
        if isinstance(value, str) and value != "":
            raw[name] = value[:RAW_MAX_VALUE]
    return raw


def clean_value(f: Field, text: str) -> tuple[Any, str | None]:
    """(value, error message) of one field; empty is None, and an error only when required."""
    text = text.strip()
    if text == "":
        if not f.required:
            return None, None
        if f.kind == RATING:
            return None, f"enter a number from {f.low} to {f.high}"
        return None, "choose one" if f.kind in (CHOICE, YESNO) else "fill this in"
    if f.kind in TEXT_MAX:
        if len(text) > TEXT_MAX[f.kind]:
            return None, f"shorten it to {TEXT_MAX[f.kind]} characters (it has {len(text)})"
        return text, None
    if f.kind == RATING:
        digits = text[1:] if text[:1] in "+-" else text
        if not digits.isdigit() or len(digits) > 6:
            return None, f"“{text[:20]}” is not a whole number: enter one from {f.low} to {f.high}"
        number = int(text)
        if not f.low <= number <= f.high:
            return None, f"{number} is out of range: enter a whole number from {f.low} to {f.high}"
        return number, None
    if f.kind == YESNO:
        if text not in ("yes", "no"):
            return None, "choose yes or no"
        return text == "yes", None
    if f.kind == CHOICE:
        if text not in dict(f.choices):
            return None, "choose one of the options"
        return text, None
    if f.kind == DATE:
        try:
            return date.fromisoformat(text).isoformat(), None
        except ValueError:
            return None, "enter a date like 2025-03-14"
    raise ValueError(f.kind)


def clean(template: Template, raw: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    rows_by_group: dict[str, dict[int, dict[str, Any]]] = {}
    for item in template.items():
        if isinstance(item, Field):
            value, error = clean_value(item, raw.get(item.name, ""))
            answers[item.name] = value
            if error:
                errors[item.name] = error
        elif isinstance(item, Group):
            rows = _clean_group(item, raw, errors)
            rows_by_group[item.name] = rows
            answers[item.name] = list(rows.values())
        else:
            _clean_rerate(item, template.group(item.group), raw, rows_by_group[item.group], errors)
    return answers, errors


def _clean_group(group: Group, raw: Mapping[str, str], errors: dict[str, str]) -> dict[int, dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {}
    key_column = next(c for c in group.columns if c.name == group.key)
    for i in range(group.rows):
        cells = {c.name: raw.get(f"{group.name}-{i}-{c.name}", "").strip() for c in group.columns}
        if not cells[group.key]:
            if any(cells.values()):
                errors[f"{group.name}-{i}-{group.key}"] = (
                    f"fill in the {key_column.label.lower()}, or clear this row"
                )
            continue
        row: dict[str, Any] = {}
        for column in group.columns:
            value, error = clean_value(column, cells[column.name])
            row[column.name] = value
            if error:
                errors[f"{group.name}-{i}-{column.name}"] = error
        if group.marker:
            row[group.marker] = raw.get(group.marker, "") == str(i)
        rows[i] = row
    if len(rows) < group.min_rows:
        errors.setdefault(f"{group.name}-0-{group.key}", f"add at least {group.min_rows}")
    if group.marker and rows:
        chosen = raw.get(group.marker, "")
        if not chosen:
            errors[group.marker] = f"mark one row as the {group.marker_label.lower()}"
        elif not (chosen.isdigit() and int(chosen) in rows):
            errors[group.marker] = f"the {group.marker_label.lower()} must be a row you filled in"
    return rows


def _clean_rerate(
    rerate: Rerate,
    group: Group,
    raw: Mapping[str, str],
    rows: dict[int, dict[str, Any]],
    errors: dict[str, str],
) -> None:
    f = Field(rerate.name, rerate.label, RATING, low=rerate.low, high=rerate.high)
    for i in range(group.rows):
        name = f"{group.name}-{i}-{rerate.name}"
        value, error = clean_value(f, raw.get(name, ""))
        if i not in rows:
            if raw.get(name, "").strip():
                errors[name] = f"name this {group.row_label.lower()} above first, or clear it"
            continue
        rows[i][rerate.name] = value
        if error:
            errors[name] = error


def _widget(
    f: Field, name: str, raw: Mapping[str, str], errors: Mapping[str, str], label: str = ""
) -> dict[str, Any]:
    value = raw.get(name, "")
    return {
        "kind": f.kind,
        "name": name,
        "id": f"f-{name}",
        "label": label or f.label,
        "value": value,
        "error": errors.get(name, ""),
        "low": f.low,
        "high": f.high,
        "required": f.required,
        "help": f.help,
        "choices": [{"value": v, "label": lab, "checked": value == v} for v, lab in f.choices],
    }


def layout(template: Template, raw: Mapping[str, str], errors: Mapping[str, str]) -> list[dict[str, Any]]:
    """The form's sections with each input's typed value and error, for the portal template."""
    sections = []
    for section in template.sections:
        widgets: list[dict[str, Any]] = []
        for item in section.items:
            if isinstance(item, Field):
                widgets.append(_widget(item, item.name, raw, errors))
            elif isinstance(item, Group):
                widgets.append(_group_widget(item, raw, errors))
            else:
                widgets.append(_rerate_widget(item, template.group(item.group), raw, errors))
        sections.append({"title": section.title, "help": section.help, "widgets": widgets})
    return sections


def _row_label(group: Group, i: int) -> str:
    return f"{group.row_label} {i + 1}"


def _group_widget(group: Group, raw: Mapping[str, str], errors: Mapping[str, str]) -> dict[str, Any]:
    rows = []
    for i in range(group.rows):
        cells = [
            _widget(c, f"{group.name}-{i}-{c.name}", raw, errors, label=f"{c.label}") for c in group.columns
        ]
        marker = None
        if group.marker:
            marker = {"name": group.marker, "value": str(i), "checked": raw.get(group.marker) == str(i)}
        rows.append({"label": _row_label(group, i), "cells": cells, "marker": marker})
    return {
        "kind": "group",
        "name": group.name,
        "label": group.label,
        "help": group.help,
        "rows": rows,
        "marker_label": group.marker_label,
        "marker_error": errors.get(group.marker, "") if group.marker else "",
    }


def _rerate_widget(
    rerate: Rerate, group: Group, raw: Mapping[str, str], errors: Mapping[str, str]
) -> dict[str, Any]:
    f = Field(rerate.name, rerate.label, RATING, low=rerate.low, high=rerate.high)
    rows = []
    for i in range(group.rows):
        named = raw.get(f"{group.name}-{i}-{group.key}", "").strip()
        label = f"{named or _row_label(group, i)}: {rerate.label}"
        rows.append(_widget(f, f"{group.name}-{i}-{rerate.name}", raw, errors, label=label))
    return {"kind": "rerate", "label": rerate.label, "help": rerate.help, "rows": rows}


def shown(f: Field, value: Any) -> str:
    """An answer as people read it."""
    if value is None or value == "":
        return "—"
    if f.kind == YESNO:
        return "Yes" if value else "No"
    if f.kind == CHOICE:
        return dict(f.choices).get(value, str(value))
    if f.kind == RATING:
        return f"{value} of {f.high}"
    return str(value)


def review(template: Template, answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A submitted entry laid out by section for reading: pairs for fields, tables for groups."""
    sections = []
    for section in template.sections:
        parts: list[dict[str, Any]] = []
        for item in section.items:
            if isinstance(item, Field):
                parts.append(
                    {"kind": "pair", "label": item.label, "value": shown(item, answers.get(item.name))}
                )
            elif isinstance(item, Group):
                columns = list(item.columns)
                rerates = [r for r in template.items() if isinstance(r, Rerate) and r.group == item.name]
                head = [c.label for c in columns] + [r.label for r in rerates]
                rows = []
                for row in answers.get(item.name) or []:
                    values = [shown(c, row.get(c.name)) for c in columns]
                    values += [
                        shown(Field(r.name, r.label, RATING, low=r.low, high=r.high), row.get(r.name))
                        for r in rerates
                    ]
                    cells = [{"label": h, "value": v} for h, v in zip(head, values, strict=True)]
                    rows.append({"cells": cells, "marked": bool(item.marker and row.get(item.marker))})
                parts.append(
                    {
                        "kind": "table",
                        "label": item.label,
                        "head": head,
                        "rows": rows,
                        "marker_label": item.marker_label,
                    }
                )
        if parts:
            sections.append({"title": section.title, "parts": parts})
    return sections
