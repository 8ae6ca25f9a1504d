"""Plan content as readable lines, for the clinician pages (and PDFs later)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tandem.plans.schema import COMPARATORS, GOAL_MEASURES, INSTRUMENTS, MODALITIES, SECTIONS


@dataclass
class Line:
    text: str
    detail: str = ""
    tag: str = ""


@dataclass
class Section:
    key: str
    label: str
    lines: list[Line] = field(default_factory=list)


def goal_target(goal: dict[str, Any]) -> str:
    if not goal.get("measure"):
        return ""
    measure = GOAL_MEASURES[goal["measure"]]["label"]
    target = f"{goal['target']:g}" if isinstance(goal.get("target"), (int, float)) else goal.get("target")
    return f"{measure} {COMPARATORS.get(goal.get('comparator') or '', '')} {target}".replace("  ", " ")


def every(days: int) -> str:
    if days % 7 == 0:
        weeks = days // 7
        return "every week" if weeks == 1 else f"every {weeks} weeks"
    return "every day" if days == 1 else f"every {days} days"


def present(content: dict[str, Any], people: dict[int, str] | None = None) -> list[Section]:
    people = people or {}
    sections = {key: Section(key, label) for key, label in SECTIONS.items()}
    for p in content.get("problems", []):
        sections["problems"].lines.append(Line(p["text"], tag=p.get("code", "")))
    goals = sorted(content.get("goals", []), key=lambda g: g.get("kind") != "patient")
    for g in goals:
        detail = ", ".join(
            filter(None, [goal_target(g), f"by {g['target_date']}" if g.get("target_date") else ""])
        )
        sections["goals"].lines.append(
            Line(g["text"], detail=detail, tag="patient's own words" if g.get("kind") == "patient" else "")
        )
    for t in content.get("therapy", []):
        name = t.get("modality_other") if t["modality"] == "other" else MODALITIES[t["modality"]]["label"]
        parts = [
            people.get(t.get("therapist_id") or 0, ""),
            t.get("frequency", ""),
            f"{t['planned_sessions']} sessions planned" if t.get("planned_sessions") else "",
        ]
        sections["therapy"].lines.append(
            Line(name, detail=" · ".join(filter(None, parts)), tag=t.get("focus", ""))
        )
    medication = content.get("medication") or {}
    if medication.get("approach"):
        sections["medication"].lines.append(Line(medication["approach"]))
    for m in content.get("monitoring", []):
        sections["monitoring"].lines.append(
            Line(f"{INSTRUMENTS.get(m['instrument'], m['instrument'])} {every(m['every_days'])}")
        )
    for r in content.get("responsibilities", []):
        sections["responsibilities"].lines.append(Line(r["what"], tag=r["who"]))
    for a in content.get("communication", []):
        sections["communication"].lines.append(Line(a["text"]))
    return list(sections.values())
