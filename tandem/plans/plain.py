"""The plan in words a patient reads on a bad day: goals, questionnaires and schedules. Pure
functions, no database."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from tandem.plans.schema import COMPARATORS, GOAL_MEASURES, INSTRUMENTS, MODALITIES

# What each goal measure is, and what a score range means, lower-is-better unless `higher_better`.
# Bands: PHQ-9 and GAD-7 severity bands (CamCOPS phq9.py/gad7.rst, clinical-facts.md §A1, §A3);
# PHQ-2 ≥3 positive (Kroenke 2003, §A2); AUDIT-C ≥4 men / ≥3 women (§A10); WHO-5 raw <13 poor
# wellbeing (secondary source only, §A12: shown as general guidance).
MEASURES: dict[str, dict[str, Any]] = {
    "phq9": {
        "what": "a short questionnaire about how your mood has been over the last 2 weeks "
        "(9 questions, scores from 0 to 27; lower is better)",
        "bands": [
            (4, "few or no symptoms of depression"),
            (9, "at most mild symptoms of depression"),
            (14, "at most moderate symptoms of depression"),
            (19, "at most moderately severe symptoms of depression"),
            (27, ""),
        ],
        "source": "PHQ-9 severity bands (Kroenke 2001); below 5 is remission (NCQA/HEDIS)",
    },
    "gad7": {
        "what": "a short questionnaire about worry and anxiety over the last 2 weeks "
        "(7 questions, scores from 0 to 21; lower is better)",
        "bands": [
            (4, "few or no symptoms of anxiety"),
            (9, "at most mild symptoms of anxiety"),
            (14, "at most moderate symptoms of anxiety"),
            (21, ""),
        ],
        "source": "GAD-7 severity bands (Spitzer 2006)",
    },
    "phq2": {
        "what": "two quick questions about mood (scores from 0 to 6; lower is better)",
        "bands": [(2, "the quick mood check no longer points to depression"), (6, "")],
        "source": "PHQ-2: 3 or more is a positive screen (Kroenke 2003)",
    },
    "auditc": {
        "what": "three questions about alcohol (scores from 0 to 12; lower is better)",
        "bands": [(2, "drinking at a lower-risk level"), (12, "")],
        "source": "AUDIT-C: 4 or more for men, 3 or more for women, suggests risky drinking",
    },
    "who5": {
        "what": "five questions about your wellbeing over the last 2 weeks "
        "(scores from 0 to 25; higher is better)",
        "higher_better": True,
        "good_from": 13,
        "good": "your sense of wellbeing is in the usual range (general guidance)",
        "better": "your sense of wellbeing is getting better",
        "source": "WHO-5: a raw score below 13 suggests poor wellbeing (secondary source)",
    },
}

INSTRUMENT_WORDS: dict[str, str] = {
    "phq9": "a short questionnaire about your mood (PHQ-9)",
    "gad7": "a short questionnaire about worry and anxiety (GAD-7)",
    "phq2": "two quick questions about your mood (PHQ-2)",
    "gad2": "two quick questions about worry (GAD-2)",
    "cssrs": "a few questions about your safety (C-SSRS)",
    "auditc": "three questions about alcohol (AUDIT-C)",
    "who5": "five questions about your wellbeing (WHO-5)",
    "asrm": "a few questions about high or elevated mood (ASRM)",
    "fibser": "three questions about side effects of your medication (FIBSER)",
    "pcl5": "a questionnaire about reactions to stressful experiences (PCL-5)",
}


def _number(value: float) -> str:
    return f"{value:g}"


def goal_meaning(goal: dict[str, Any]) -> str:
    """'PHQ-9 below 5 means few or no symptoms of depression' for a measured goal; '' otherwise."""
    measure, comparator, target = goal.get("measure"), goal.get("comparator"), goal.get("target")
    if measure not in GOAL_MEASURES or comparator not in COMPARATORS or target is None:
        return ""
    spec = MEASURES.get(measure, {})
    label = GOAL_MEASURES[measure]["label"].split(" (")[0]
    head = f"{label} {COMPARATORS[comparator]} {_number(float(target))}"
    meaning = ""
    if spec.get("higher_better") and comparator in (">", ">="):
        lowest = math.floor(target) + 1 if comparator == ">" else math.ceil(target)
        meaning = spec["good"] if lowest >= spec["good_from"] else spec["better"]
    elif not spec.get("higher_better") and comparator in ("<", "<="):
        worst = math.ceil(target) - 1 if comparator == "<" else math.floor(target)
        for upper, words in spec.get("bands", []):
            if worst <= upper:
                meaning = words
                break
    return f"{head} means {meaning}" if meaning else head


def measure_what(measure: str | None) -> str:
    if not measure or measure not in MEASURES:
        return ""
    return f"{GOAL_MEASURES[measure]['label'].split(' (')[0]} is {MEASURES[measure]['what']}."


def measure_source(measure: str | None) -> str:
    return MEASURES.get(measure or "", {}).get("source", "")


def every(days: int) -> str:
    """'every day', 'every week', 'every 2 weeks', 'every month', 'every 10 days'."""
    if days == 1:
        return "every day"
    if days % 7 == 0:
        weeks = days // 7
        return "every week" if weeks == 1 else f"every {weeks} weeks"
    if days in (30, 31):
        return "every month"
    return f"every {days} days"


def monitoring_words(item: dict[str, Any]) -> str:
    instrument = item.get("instrument", "")
    what = INSTRUMENT_WORDS.get(instrument, INSTRUMENTS.get(instrument, instrument))
    return f"{what[:1].upper()}{what[1:]} {every(int(item.get('every_days') or 1))}"


def modality_label(therapy: dict[str, Any]) -> str:
    if therapy.get("modality") == "other" and therapy.get("modality_other"):
        return str(therapy["modality_other"])
    return str(MODALITIES.get(therapy.get("modality", ""), {}).get("label", "Therapy"))


def sessions_words(therapy: dict[str, Any]) -> str:
    parts = []
    if therapy.get("frequency"):
        parts.append(str(therapy["frequency"]))
    if therapy.get("planned_sessions"):
        n = int(therapy["planned_sessions"])
        parts.append(f"about {n} session{'s' if n != 1 else ''}")
    return ", ".join(parts)


def target_date_words(value: Any) -> str:
    if isinstance(value, str) and value:
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return ""
    if isinstance(value, date):
        return f"by {value.day} {value:%B %Y}"
    return ""


# The patient's view of the whole plan -------------------------------------------------------

ANTIDEPRESSANT_CLASSES = frozenset({"ssri", "snri", "other-antidepressant", "tca", "maoi"})
ROLE_WORDS: dict[str, str] = {
    "therapist": "therapist",
    "prescriber": "prescriber",
    "care_manager": "care manager",
    "psychiatric_consultant": "psychiatric consultant",
}
ROLE_ALIASES: dict[str, str] = {
    **{key: key for key in ROLE_WORDS},
    **{words: key for key, words in ROLE_WORDS.items()},
    "consultant": "psychiatric_consultant",
}
PATIENT_WORDS = frozenset({"patient", "the patient", "you", "me", "i", "myself", "yourself"})


def who_words(who: str, people: dict[str, list[str]]) -> str:
    """'Theo Therapist (your therapist)' for "therapist"; 'You' for "patient"; else as written."""
    if who.strip().lower() in PATIENT_WORDS:
        return "You"
    role = ROLE_ALIASES.get(who.strip().lower())
    if role is None:
        return who
    names = people.get(role) or []
    title = f"your {ROLE_WORDS[role]}"
    return f"{' and '.join(names)} ({title})" if names else title[:1].upper() + title[1:]


def for_patient(
    content: dict[str, Any],
    *,
    people: dict[str, list[str]],
    names: dict[int, str],
    medication_classes: list[str],
) -> dict[str, Any]:
    """The plan as the patient reads it. `people` maps a team role to names; `names` maps user id
    to name (for a named therapist); `medication_classes` are education keys found in the
    medication part."""
    goals = content.get("goals") or []
    medication = content.get("medication") or {}
    has_medication = bool((medication.get("approach") or "").strip() or medication.get("regimen_ids"))
    therapy = [
        {
            "key": t.get("key"),
            "label": modality_label(t),
            "modality": t.get("modality", "other"),
            "sessions": sessions_words(t),
            "focus": t.get("focus", ""),
            "therapist": names.get(t["therapist_id"]) if t.get("therapist_id") else None,
        }
        for t in content.get("therapy") or []
    ]
    return {
        "own_goals": [g["text"] for g in goals if g.get("kind") == "patient"],
        "clinical_goals": [
            {
                "text": g["text"],
                "meaning": goal_meaning(g),
                "what": measure_what(g.get("measure")),
                "by": target_date_words(g.get("target_date")),
                "source": measure_source(g.get("measure")),
            }
            for g in goals
            if g.get("kind") != "patient"
        ],
        "problems": [p["text"] for p in content.get("problems") or []],
        "therapy": therapy,
        "has_medication": has_medication,
        "medication_approach": (medication.get("approach") or "").strip(),
        "medication_classes": medication_classes,
        "antidepressant": bool(set(medication_classes) & ANTIDEPRESSANT_CLASSES),
        "both": has_medication and bool(therapy),
        "monitoring": [monitoring_words(m) for m in content.get("monitoring") or []],
        "responsibilities": [
            {"who": who_words(r.get("who", ""), people), "what": r.get("what", "")}
            for r in content.get("responsibilities") or []
        ],
        "communication": [a["text"] for a in content.get("communication") or []],
        "prescriber": who_words("prescriber", people),
        "has_prescriber": bool(people.get("prescriber")),
        "care_manager": who_words("care_manager", people) if people.get("care_manager") else "",
    }
