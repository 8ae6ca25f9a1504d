"""Pure plan logic: what changed between two revisions, in words people read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tandem.plans.schema import SECTIONS

# Field names as people say them.
FIELD_LABELS = {
    "code": "code",
    "text": "text",
    "kind": "kind",
    "measure": "measure",
    "comparator": "comparator",
    "target": "target",
    "target_date": "target date",
    "modality": "modality",
    "modality_other": "modality",
    "therapist_id": "therapist",
    "frequency": "frequency",
    "planned_sessions": "planned sessions",
    "focus": "focus",
    "approach": "approach",
    "regimen_ids": "regimens",
    "instrument": "instrument",
    "every_days": "every (days)",
    "who": "who",
    "what": "what",
}


@dataclass
class ItemChange:
    kind: str  # added | removed | changed
    label: str
    fields: list[tuple[str, Any, Any]] = field(default_factory=list)  # (field, before, after)


@dataclass
class SectionDiff:
    section: str
    label: str
    changes: list[ItemChange]


def item_label(section: str, item: dict[str, Any]) -> str:
    for name in ("text", "what", "focus", "modality", "instrument", "approach"):
        if item.get(name):
            return str(item[name])[:80]
    return section


def changed_sections(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [s for s in SECTIONS if old.get(s) != new.get(s)]


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[SectionDiff]:
    """Section by section: items matched by key, added, removed, or changed field by field."""
    result = []
    for section, label in SECTIONS.items():
        before, after = old.get(section), new.get(section)
        if before == after:
            continue
        changes: list[ItemChange] = []
        if isinstance(before, dict) or isinstance(after, dict):
            before, after = before or {}, after or {}
            fields = [
                (f, before.get(f), after.get(f))
                for f in sorted({*before, *after})
                if before.get(f) != after.get(f)
            ]
            changes.append(ItemChange("changed", label, fields))
        else:
            old_items = {i["key"]: i for i in before or []}
            new_items = {i["key"]: i for i in after or []}
            for key, item in new_items.items():
                if key not in old_items:
                    changes.append(ItemChange("added", item_label(section, item)))
                elif item != old_items[key]:
                    prior = old_items[key]
                    fields = [
                        (f, prior.get(f), item.get(f))
                        for f in sorted({*prior, *item} - {"key"})
                        if prior.get(f) != item.get(f)
                    ]
                    changes.append(ItemChange("changed", item_label(section, item), fields))
            for key, item in old_items.items():
                if key not in new_items:
                    changes.append(ItemChange("removed", item_label(section, item)))
            if not changes and [i["key"] for i in before or []] != [i["key"] for i in after or []]:
                changes.append(ItemChange("changed", "order of items"))
        result.append(SectionDiff(section, label, changes))
    return result


def replace_section(content: dict[str, Any], section: str, value: Any) -> dict[str, Any]:
    if section not in SECTIONS:
        raise ValueError(f"unknown section {section!r}")
    return {**content, section: value}
