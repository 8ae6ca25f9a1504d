"""The content of a plan revision and of a safety document: validated JSON documents.

Every list item carries a short `key` so that a diff can follow an item across revisions and
FHIR resources (Goal, Condition) get stable ids.
"""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SECTIONS: dict[str, str] = {
    "problems": "Problems",
    "goals": "Goals",
    "therapy": "Therapy",
    "medication": "Medication",
    "monitoring": "Monitoring",
    "responsibilities": "Who does what",
    "communication": "Communication agreement",
}

# Measures a goal can target: name, LOINC code of the total score, and its possible range.
# Source: ../docs/clinical-facts.md §A0 (PHQ-9 44261-6, GAD-7 70274-6, PHQ-2 55758-7,
# AUDIT-C 75626-2); WHO-5 has no LOINC total there, so none is claimed.
GOAL_MEASURES: dict[str, dict[str, Any]] = {
    "phq9": {"label": "PHQ-9", "loinc": "44261-6", "min": 0, "max": 27},
    "gad7": {"label": "GAD-7", "loinc": "70274-6", "min": 0, "max": 21},
    "phq2": {"label": "PHQ-2", "loinc": "55758-7", "min": 0, "max": 6},
    "auditc": {"label": "AUDIT-C", "loinc": "75626-2", "min": 0, "max": 12},
    "who5": {"label": "WHO-5 (raw)", "loinc": None, "min": 0, "max": 25},
}
COMPARATORS = {"<": "below", "<=": "at most", ">": "above", ">=": "at least"}

# Therapy modalities; SNOMED CT where a code is known (clinical-facts.md §G).
MODALITIES: dict[str, dict[str, Any]] = {
    "cbt": {"label": "Cognitive behavioural therapy (CBT)", "snomed": "304891004"},
    "dbt": {"label": "Dialectical behaviour therapy (DBT)", "snomed": None},
    "ipt": {"label": "Interpersonal psychotherapy (IPT)", "snomed": "443730003"},
    "ba": {"label": "Behavioural activation", "snomed": None},
    "pst": {"label": "Problem-solving therapy", "snomed": None},
    "other": {"label": "Other", "snomed": None},
}

# Instruments the monitoring component can schedule.
INSTRUMENTS: dict[str, str] = {
    "phq9": "PHQ-9",
    "gad7": "GAD-7",
    "phq2": "PHQ-2",
    "gad2": "GAD-2",
    "cssrs": "C-SSRS screener",
    "auditc": "AUDIT-C",
    "who5": "WHO-5",
    "asrm": "ASRM",
    "fibser": "FIBSER",
    "pcl5": "PCL-5",
}

# ICD-10-CM: a letter, two characters, then optionally a dot and up to four more.
ICD10CM = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-Z]{1,4})?$")

Key = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[a-z0-9]+$")]
Text = Annotated[str, Field(min_length=1, max_length=1000)]
ShortText = Annotated[str, Field(max_length=300)]


def new_key() -> str:
    return secrets.token_hex(4)


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    key: Key = Field(default_factory=new_key)


class Problem(Item):
    code: str = Field(max_length=8, description="ICD-10-CM code, e.g. F33.1")
    text: Text

    @field_validator("code")
    @classmethod
    def icd10(cls, value: str) -> str:
        value = value.strip().upper()
        if value and not ICD10CM.match(value):
            raise ValueError("is not an ICD-10-CM code (e.g. F33.1 or F41.1)")
        return value


class Goal(Item):
    kind: Literal["clinical", "patient"] = "clinical"
    text: Text
    measure: Literal["phq9", "gad7", "phq2", "auditc", "who5"] | None = None
    comparator: Literal["<", "<=", ">", ">="] | None = None
    target: float | None = None
    target_date: date | None = None

    @model_validator(mode="after")
    def target_fits_measure(self) -> Goal:
        if self.measure is None:
            if self.comparator is not None or self.target is not None:
                raise ValueError("a target needs a measure: choose the measure it is a score of")
            return self
        spec = GOAL_MEASURES[self.measure]
        if self.comparator is None or self.target is None:
            raise ValueError(f"a goal measured by {spec['label']} needs a target, e.g. < 5")
        if not spec["min"] <= self.target <= spec["max"]:
            raise ValueError(f"the {spec['label']} target must be between {spec['min']} and {spec['max']}")
        return self

    def target_text(self) -> str:
        if self.measure is None:
            return ""
        target = f"{self.target:g}"
        return f"{GOAL_MEASURES[self.measure]['label']} {self.comparator} {target}"


class Therapy(Item):
    modality: Literal["cbt", "dbt", "ipt", "ba", "pst", "other"]
    modality_other: ShortText = ""
    therapist_id: int | None = None
    frequency: ShortText = ""
    planned_sessions: int | None = Field(default=None, ge=1, le=200)
    focus: Annotated[str, Field(max_length=1000)] = ""

    @model_validator(mode="after")
    def other_is_named(self) -> Therapy:
        if self.modality == "other" and not self.modality_other:
            raise ValueError("name the modality when it is 'other'")
        return self


class Medication(BaseModel):
    """The medication part of the plan: until regimens are recorded, the intended approach in
    words. Regimens are referenced by id, never copied."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    approach: Annotated[str, Field(max_length=2000)] = ""
    regimen_ids: list[int] = Field(default_factory=list)


class Monitoring(Item):
    instrument: Literal["phq9", "gad7", "phq2", "gad2", "cssrs", "auditc", "who5", "asrm", "fibser", "pcl5"]
    every_days: int = Field(ge=1, le=365)


class Responsibility(Item):
    who: ShortText = Field(min_length=1, description="a role (therapist, prescriber…) or a person")
    what: Text


class Agreement(Item):
    text: Text


class PlanContent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    problems: list[Problem] = Field(default_factory=list, max_length=30)
    goals: list[Goal] = Field(default_factory=list, max_length=30)
    therapy: list[Therapy] = Field(default_factory=list, max_length=10)
    medication: Medication = Field(default_factory=Medication)
    monitoring: list[Monitoring] = Field(default_factory=list, max_length=20)
    responsibilities: list[Responsibility] = Field(default_factory=list, max_length=30)
    communication: list[Agreement] = Field(default_factory=list, max_length=30)

    @model_validator(mode="after")
    def keys_are_unique(self) -> PlanContent:
        for section in SECTIONS:
            value = getattr(self, section)
            if isinstance(value, list):
                keys = [item.key for item in value]
                if len(keys) != len(set(keys)):
                    raise ValueError(f"{section}: two items share a key")
        return self


SAFETY_SECTIONS: dict[str, str] = {
    "warning_signs": "Warning signs that a crisis may be developing",
    "coping_strategies": "Things I can do on my own to take my mind off my problems",
    "distractions": "People and places that help me take my mind off things",
    "people_to_ask": "People I can ask for help",
    "professionals": "Professionals and crisis lines I can contact",
    "safe_environment": "Making my environment safe",
    "reasons_for_living": "My reasons for living",
}
RELAPSE_SECTIONS: dict[str, str] = {
    "warning_signs": "My early warning signs",
    "actions": "What I will do",
    "contacts": "Whom I will contact",
    "maintenance": "What keeps me well (maintenance plan)",
}
Line = Annotated[str, Field(min_length=1, max_length=300)]


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: Line
    phone: Annotated[str, Field(max_length=40, pattern=r"^[0-9+()\-. ]*$")] = ""


class SafetyPlanContent(BaseModel):
    """Stanley–Brown safety plan (Stanley & Brown 2012), plus reasons for living."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    warning_signs: list[Line] = Field(default_factory=list, max_length=20)
    coping_strategies: list[Line] = Field(default_factory=list, max_length=20)
    distractions: list[Line] = Field(default_factory=list, max_length=20)
    people_to_ask: list[Contact] = Field(default_factory=list, max_length=20)
    professionals: list[Contact] = Field(default_factory=list, max_length=20)
    safe_environment: list[Line] = Field(default_factory=list, max_length=20)
    reasons_for_living: list[Line] = Field(default_factory=list, max_length=20)


class RelapsePlanContent(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    warning_signs: list[Line] = Field(default_factory=list, max_length=20)
    actions: list[Line] = Field(default_factory=list, max_length=20)
    contacts: list[Contact] = Field(default_factory=list, max_length=20)
    maintenance: list[Line] = Field(default_factory=list, max_length=20)


def field_errors(exc: ValidationError) -> dict[str, list[str]]:
    """Pydantic errors as {"goals.1.target": ["…"]}, for forms and API error bodies."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "__all__"
        message = str(error["msg"]).removeprefix("Value error, ")
        errors.setdefault(where, []).append(message)
    return errors
