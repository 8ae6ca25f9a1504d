"""The safety and relapse-prevention plan as a form: one box per section, one line per entry.

Contact sections take "Name — phone" lines. Errors come from the pydantic schema and are put on
the box they belong to, with the line they are about, so that nothing typed is lost.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, QueryDict
from pydantic import ValidationError

from tandem.audit.access import record_denied
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.patients.access import PatientGrant
from tandem.plans import safety_docs
from tandem.plans.actions import NothingChanged, PlanConflict, do_save_safety_document
from tandem.plans.models import DocumentKind
from tandem.plans.safety_docs import CONTACT_SECTIONS, ENTITY, SCHEMAS, SECTIONS
from tandem.plans.schema import field_errors

HELP: dict[str, str] = {
    "warning_signs": "Thoughts, feelings, situations or behaviours that come before a crisis.",
    "coping_strategies": "Things I can do by myself, e.g. a walk, music, a shower.",
    "distractions": "People to be with and places to go.",
    "people_to_ask": "Family or friends I can tell I need help.",
    "professionals": "Therapist, prescriber, clinic, crisis lines. The crisis line is always shown.",
    "safe_environment": "How to keep myself safe, e.g. who keeps my medicines.",
    "reasons_for_living": "What matters most to me.",
    "actions": "What I will do when I notice the warning signs.",
    "contacts": "Who I will tell, and how to reach them.",
    "maintenance": "Habits and treatment that keep me well.",
}

STALE = "This page was incomplete or out of date. Your text is kept: copy it, open the page again, then save."
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_TRAILING_NUMBER = re.compile(r"^(?P<name>.*?)[\s,:]+(?P<phone>\+?[0-9(][0-9()\-. ]*[0-9])$")


def lines(text: str) -> list[str]:
    """The non-empty lines of a box, without list bullets people paste in."""
    return [
        _BULLET.sub("", line).strip() for line in (text or "").splitlines() if _BULLET.sub("", line).strip()
    ]


def parse_contact(line: str) -> dict[str, str]:
    """ "Sam (sister) — 555 0100" → {"name": "Sam (sister)", "phone": "555 0100"}.

    The last em or en dash separates the phone; else the last " - "; else a number at the end of
    the line; else the whole line is a name without a phone."""
    for separator in ("—", "–", " - "):
        if separator in line:
            name, _, phone = line.rpartition(separator)
            return {"name": name.strip(), "phone": phone.strip()}
    match = _TRAILING_NUMBER.match(line)
    if match and sum(c.isdigit() for c in match["phone"]) >= 3 and match["name"].strip():
        return {"name": match["name"].strip(), "phone": match["phone"].strip()}
    return {"name": line, "phone": ""}


def contact_line(contact: dict[str, str]) -> str:
    return f"{contact['name']} — {contact['phone']}" if contact.get("phone") else contact.get("name", "")


def content_from_text(kind: str, texts: dict[str, str]) -> dict[str, Any]:
    content: dict[str, Any] = {}
    for section in SECTIONS[kind]:
        entries = lines(texts.get(section, ""))
        content[section] = [parse_contact(e) for e in entries] if section in CONTACT_SECTIONS else entries
    return content


def text_from_content(kind: str, content: dict[str, Any]) -> dict[str, str]:
    texts = {}
    for section in SECTIONS[kind]:
        entries = content.get(section) or []
        if section in CONTACT_SECTIONS:
            texts[section] = "\n".join(contact_line(c) for c in entries)
        else:
            texts[section] = "\n".join(str(e) for e in entries)
    return texts


def friendly(message: str, *, field: str = "") -> str:
    """Pydantic's wording, said the way a person would."""
    if "should match pattern" in message:
        return (
            "after the dash, write only the phone number (digits, spaces and + ( ) - .); "
            "put any note before the dash, e.g. “Mum, after 6pm — 555 0100”"
        )
    if match := re.search(r"List should have at most (\d+) item", message):
        return f"has too many lines: at most {match[1]}"
    if match := re.search(r"String should have at most (\d+) character", message):
        what = "the phone number" if field == "phone" else "this line"
        return f"{what} is too long: at most {match[1]} characters"
    if "at least 1 character" in message:
        return "needs a name before the phone number" if field == "name" else "is empty"
    return message


def errors_by_section(kind: str, exc: ValidationError, content: dict[str, Any]) -> dict[str, list[str]]:
    """{"people_to_ask": ["Line 2 (“Mum — call”): a phone number can only have …"]}."""
    result: dict[str, list[str]] = {}
    for where, messages in field_errors(exc).items():
        parts = where.split(".")
        section = parts[0] if parts[0] in SECTIONS[kind] else "__all__"
        prefix = ""
        field = parts[2] if len(parts) > 2 else ""
        if len(parts) > 1 and parts[1].isdigit():
            index = int(parts[1])
            entry = (content.get(section) or [])[index] if index < len(content.get(section) or []) else ""
            shown = contact_line(entry) if isinstance(entry, dict) else str(entry)
            shown = shown if len(shown) <= 40 else shown[:39] + "…"
            prefix = f"Line {index + 1} (“{shown}”): " if shown else f"Line {index + 1}: "
        for message in messages:
            result.setdefault(section, []).append(prefix + friendly(message, field=field))
    return result


class SafetyDocumentForm(forms.Form):
    """One textarea per section of the document; `content` holds the parsed, validated document."""

    base_revision = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.content: dict[str, Any] = {}
        for section, label in SECTIONS[kind].items():
            example = " One per line: name — phone." if section in CONTACT_SECTIONS else " One per line."
            self.fields[section] = forms.CharField(
                label=label,
                required=False,
                max_length=20000,
                strip=False,
                help_text=HELP.get(section, "") + example,
                widget=forms.Textarea(attrs={"rows": 4}),
            )
        self.fields["reason"] = forms.CharField(
            label="What changed, in a few words (optional)", required=False, max_length=500
        )

    @classmethod
    def initial_for(cls, kind: str, content: dict[str, Any] | None, base_revision: int) -> dict[str, Any]:
        return {**text_from_content(kind, content or {}), "base_revision": base_revision}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "base_revision" in self.errors:
            raise forms.ValidationError(STALE)
        texts = {section: data.get(section) or "" for section in SECTIONS[self.kind]}
        content = content_from_text(self.kind, texts)
        if not any(content.values()) and not self.errors:
            raise forms.ValidationError("Write at least one line in any section before saving.")
        try:
            self.content = SCHEMAS[self.kind].model_validate(content).model_dump(mode="json")
        except ValidationError as exc:
            for section, messages in errors_by_section(self.kind, exc, content).items():
                for message in messages:
                    self.add_error(None if section == "__all__" else section, message)
        return data

    def section_fields(self) -> list[forms.BoundField]:
        return [self[section] for section in SECTIONS[self.kind]]


# Shared by the clinician and portal views -----------------------------------------------------


def checked_kind(request: HttpRequest, kind: str, patient: Any = None) -> str:
    if kind not in DocumentKind.values:
        record_denied(request, ENTITY, kind, patient=patient)
        raise Http404
    return kind


def save_document(
    request: AuthenticatedHttpRequest,
    grant: PatientGrant,
    kind: str,
    *,
    role: str,
) -> tuple[SafetyDocumentForm, str, Any]:
    """Bind, validate and save the posted form. Returns (form, outcome, the other person's revision
    when a concurrent save won); outcome is "saved", "unchanged" or "" (shown again with errors,
    keeping everything typed)."""
    form = SafetyDocumentForm(request.POST, kind=kind)
    if not form.is_valid():
        return form, "", None
    try:
        do_save_safety_document(
            grant.patient,
            kind,
            content=form.content,
            acting_user=request.user,
            base_revision=form.cleaned_data["base_revision"],
            reason=form.cleaned_data.get("reason") or "",
            role=role,
            request=request,
        )
    except PlanConflict as exc:
        # Keep every word typed, but against the newest revision: shown next to the form, so a
        # second save (after reading theirs) is a deliberate choice.
        data: QueryDict = request.POST.copy()
        data["base_revision"] = str(exc.current)
        form = SafetyDocumentForm(data, kind=kind)
        form.is_valid()
        form.add_error(None, str(exc))
        latest = safety_docs.document(grant.patient, kind)
        return form, "", latest.current if latest else None
    except ValidationError as exc:  # the form validates the same schema; this is belt and braces
        for section, errors in errors_by_section(kind, exc, form.content).items():
            for message in errors:
                form.add_error(None if section == "__all__" else section, message)
        return form, "", None
    except NothingChanged:
        return form, "unchanged", None
    return form, "saved", None
