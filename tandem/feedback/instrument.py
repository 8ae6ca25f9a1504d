"""The visit-feedback instrument, defined as data (data/visit_feedback.json) so that forms, charts,
alerts and a FHIR Questionnaire all read the same items.

Tandem's own open instrument, modelled on the idea of the Session Rating Scale (four alliance
ratings at the end of each session) without its licensed wording; the JSON says so and cites it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data" / "visit_feedback.json"


@dataclass(frozen=True)
class Item:
    link_id: str
    text: str
    short: str
    type: str  # integer | text
    required: bool
    min: int = 0
    max: int = 10
    anchors: tuple[tuple[int, str], ...] = ()
    max_length: int = 0

    def anchor(self, value: int) -> str:
        return dict(self.anchors).get(value, "")


@dataclass(frozen=True)
class Instrument:
    id: str
    version: str
    title: str
    raw: dict[str, Any]
    items: tuple[Item, ...]

    @property
    def ratings(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.type == "integer")

    @property
    def texts(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.type == "text")

    def item(self, link_id: str) -> Item:
        for item in self.items:
            if item.link_id == link_id:
                return item
        raise KeyError(link_id)


def _item(row: dict[str, Any]) -> Item:
    anchors = tuple(sorted((int(k), str(v)) for k, v in (row.get("anchors") or {}).items()))
    return Item(
        link_id=row["linkId"],
        text=row["text"],
        short=row.get("short", row["text"]),
        type=row["type"],
        required=bool(row.get("required", False)),
        min=int(row.get("min", 0)),
        max=int(row.get("max", 10)),
        anchors=anchors,
        max_length=int(row.get("maxLength", 0)),
    )


@cache
def visit_feedback() -> Instrument:
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    return Instrument(
        id=raw["id"],
        version=raw["version"],
        title=raw["title"],
        raw=raw,
        items=tuple(_item(row) for row in raw["items"]),
    )


# The rating items as the model stores them (one column each), in the instrument's order.
RATING_IDS = ("heard", "goals", "approach", "overall")
TEXT_IDS = ("working", "not_working", "better")


def as_fhir_questionnaire(instrument: Instrument | None = None) -> dict[str, Any]:
    """The instrument as a FHIR R4 Questionnaire resource (a plain dict), for the measurement
    engine to serve: integer items carry their bounds as minValue/maxValue extensions."""
    instrument = instrument or visit_feedback()
    min_ext = "http://hl7.org/fhir/StructureDefinition/minValue"
    max_ext = "http://hl7.org/fhir/StructureDefinition/maxValue"
    items = []
    for item in instrument.items:
        entry: dict[str, Any] = {
            "linkId": item.link_id,
            "text": item.text,
            "type": item.type,
            "required": item.required,
        }
        if item.type == "integer":
            entry["extension"] = [
                {"url": min_ext, "valueInteger": item.min},
                {"url": max_ext, "valueInteger": item.max},
            ]
        elif item.max_length:
            entry["maxLength"] = item.max_length
        items.append(entry)
    return {
        "resourceType": "Questionnaire",
        "id": instrument.id,
        "url": f"urn:tandem:questionnaire:{instrument.id}",
        "version": instrument.version,
        "name": "TandemVisitFeedback",
        "title": instrument.title,
        "status": instrument.raw.get("status", "active"),
        "publisher": instrument.raw.get("publisher", ""),
        "description": instrument.raw.get("description", ""),
        "item": items,
    }
