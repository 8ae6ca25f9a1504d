"""The structure of a documented suicide risk assessment: the C-SSRS screener's items by LOINC
code and construct (its wording is not reproduced — ask it from the official Columbia form), the
risk level the answers suggest, and the actions a clinician records. No database, no clock.

Codes (clinical-facts.md §C): procedure SNOMED CT 225337009 "Suicide risk assessment
(procedure)" ✔; result LOINC 93374-7 "Suicide risk level" ✔. Screener items and triage:
clinical-facts.md §A5 (high = yes to 4 or 5, or behaviour in the past 3 months ✔; the moderate
and low bands are the usual banding, unverified — the clinician decides the level).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tandem.measures import definitions

PROCEDURE_CODE = ("http://snomed.info/sct", "225337009", "Suicide risk assessment (procedure)")
RESULT_CODE = ("http://loinc.org", "93374-7", "Suicide risk level")
SCREENER = "c-ssrs-screener"
WORDING_NOTE = (
    "The Columbia wording is not reproduced in Tandem: ask each question from the official C-SSRS "
    "form (free for health-care providers to use in their records, cssrs.columbia.edu)."
)

ACTIONS: dict[str, str] = {
    "safety_plan_reviewed": "Safety plan reviewed with the patient",
    "safety_plan_updated": "Safety plan written or updated",
    "means_counselling": "Lethal-means counselling (making the environment safe)",
    "crisis_resources_given": "Crisis line and emergency numbers given",
    "support_person_involved": "Family member or support person involved (with consent)",
    "follow_up_scheduled": "Follow-up contact scheduled",
    "medication_reviewed": "Medication reviewed with the prescriber",
    "emergency_referral": "Emergency evaluation or referral arranged",
}


@dataclass(frozen=True)
class Question:
    link_id: str
    loinc: str
    number: str
    construct: str
    asked_when: str  # "" for always, else a note of the skip logic


def questions() -> list[Question]:
    defn = definitions.get(SCREENER)
    rows = []
    for item in defn.items:
        when = ""
        if item.enable_when is not None:
            parent = defn.item(item.enable_when.link_id)
            when = f"asked when question {parent.number} is yes"
        rows.append(Question(item.link_id, item.loinc or "", str(item.number), item.concept, when))
    return rows


def suggested_level(answers: Mapping[str, str]) -> str:
    """The level the screener answers suggest ("" when nothing was answered yes): the first of
    the definition's risk levels (high, moderate, low) with one of its items answered yes."""
    defn = definitions.get(SCREENER)
    yes = {link for link, answer in answers.items() if answer == "yes"}
    for level in defn.risk_levels:
        if yes & set(level.any_yes):
            return level.key
    return ""


def level_sources() -> dict[str, str]:
    return {level.key: level.source for level in definitions.get(SCREENER).risk_levels}
