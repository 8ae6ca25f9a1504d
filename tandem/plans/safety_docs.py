"""Reading a patient's safety documents for display, by clinicians and in the portal."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tandem.patients.models import Patient
from tandem.plans.models import DocumentKind, SafetyDocument, SafetyRevision
from tandem.plans.schema import RELAPSE_SECTIONS, SAFETY_SECTIONS, RelapsePlanContent, SafetyPlanContent

ENTITY = "SafetyPlan"  # the audit entity type of both documents
SECTIONS: dict[str, dict[str, str]] = {
    DocumentKind.SAFETY: SAFETY_SECTIONS,
    DocumentKind.RELAPSE: RELAPSE_SECTIONS,
}
SCHEMAS: dict[str, type[SafetyPlanContent] | type[RelapsePlanContent]] = {
    DocumentKind.SAFETY: SafetyPlanContent,
    DocumentKind.RELAPSE: RelapsePlanContent,
}
CONTACT_SECTIONS = frozenset({"people_to_ask", "professionals", "contacts"})

# Stanley–Brown's six steps, in order (Stanley & Brown 2012, clinical-facts.md §C); "reasons for
# living" follows them without a step number.
SAFETY_STEPS = [
    "warning_signs",
    "coping_strategies",
    "distractions",
    "people_to_ask",
    "professionals",
    "safe_environment",
]
DEFAULT_CRISIS_LINE = "988"


@dataclass
class Section:
    key: str
    label: str
    step: int | None
    is_contacts: bool
    entries: list[Any] = field(default_factory=list)


def crisis_line(patient: Patient) -> str:
    return (patient.organisation.crisis_line or "").strip() or DEFAULT_CRISIS_LINE


def _digits(value: str) -> str:
    return re.sub(r"[^0-9]", "", value or "")


def crisis_contact(line: str) -> dict[str, Any]:
    if _digits(line) == "988":
        name = "988 Suicide & Crisis Lifeline — call or text, any time"
    else:
        name = "Crisis line — any time"
    return {"name": name, "phone": line, "always": True}


def sections(kind: str, content: dict[str, Any] | None, *, crisis: str) -> list[Section]:
    """The document's sections in order, with the crisis line always among the professionals."""
    content = content or {}
    result = []
    for key, label in SECTIONS[kind].items():
        step = SAFETY_STEPS.index(key) + 1 if kind == DocumentKind.SAFETY and key in SAFETY_STEPS else None
        entries = list(content.get(key) or [])
        listed = any(_digits(c.get("phone", "")) == _digits(crisis) for c in entries if isinstance(c, dict))
        if kind == DocumentKind.SAFETY and key == "professionals" and not listed:
            entries.append(crisis_contact(crisis))
        result.append(Section(key, label, step, key in CONTACT_SECTIONS, entries))
    return result


def documents(patient: Patient) -> dict[str, SafetyDocument | None]:
    """Both documents of the patient (None for one never written), in one query."""
    rows = SafetyDocument.objects.filter(patient=patient).select_related("current", "current__author")
    found = {row.kind: row for row in rows}
    return {kind: found.get(kind) for kind in DocumentKind.values}


def document(patient: Patient, kind: str) -> SafetyDocument | None:
    return (
        SafetyDocument.objects.filter(patient=patient, kind=kind)
        .select_related("current", "current__author")
        .first()
    )


def revisions(doc: SafetyDocument | None, *, limit: int = 100) -> list[SafetyRevision]:
    if doc is None:
        return []
    return list(
        SafetyRevision.objects.filter(document=doc)
        .select_related("author")
        .defer("content")
        .order_by("-number")[:limit]
    )


def revision(doc: SafetyDocument | None, number: Any) -> SafetyRevision | None:
    if doc is None or not str(number).isdigit() or len(str(number)) > 8:
        return None
    return SafetyRevision.objects.filter(document=doc, number=int(number)).select_related("author").first()
