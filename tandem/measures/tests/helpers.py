"""Answers built from item values, the way a form or a FHIR sender would send them."""

from __future__ import annotations

from typing import Any

from tandem.measures.definitions import Definition, get


def answer_for(defn: Definition, link_id: str, value: int) -> Any:
    item = defn.item(link_id)
    if item.type == "integer":
        return value
    return next(o.code for o in defn.options(item) if o.value == value)


def answers(instrument: str | Definition, values: list[int] | dict[str, int]) -> dict[str, Any]:
    """Codes (or integers) for the scored items, in order, from a list or a {linkId: value} map."""
    defn = get(instrument) if isinstance(instrument, str) else instrument
    if isinstance(values, list):
        values = dict(zip(defn.scoring.items, values, strict=True))
    return {link: answer_for(defn, link, value) for link, value in values.items()}


def values_for_total(defn: Definition, total: int) -> list[int]:
    """Item values adding up to `total`, filling items in order."""
    values = []
    left = total
    for link in defn.scoring.items:
        top = defn.item_range(defn.item(link))[1]  # type: ignore[index]
        values.append(min(top, left))
        left -= values[-1]
    assert left == 0, f"{total} is out of range for {defn.id}"
    return values


def phq9(values: list[int]) -> dict[str, Any]:
    return answers("phq-9", values)


def qr(instrument_url: str, items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": instrument_url,
        "item": items,
        **extra,
    }


LL = {
    0: ("LA6568-5", "Not at all"),
    1: ("LA6569-3", "Several days"),
    2: ("LA6570-1", "More than half the days"),
    3: ("LA6571-9", "Nearly every day"),
}


def coded(link_id: str, value: int, *, ordinal: bool = True, code: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {
        "system": "http://loinc.org",
        "code": code or LL[value][0],
        "display": LL[value][1],
    }
    if ordinal:
        coding["extension"] = [
            {"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": value}
        ]
    return {"linkId": link_id, "answer": [{"valueCoding": coding}]}
