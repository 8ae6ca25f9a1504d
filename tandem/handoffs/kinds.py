"""What each kind of hand-off carries: its own fields (which are required), who may receive it,
and the due-by the form suggests. Pure data and validation, no database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tandem.accounts.models import Role
from tandem.handoffs.models import HandoffKind
from tandem.lib.timezones import at_local

TEXT_MAX = 4000


class HandoffError(ValueError):
    """Bad input for a hand-off, named by its field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()  # empty: free text
    required: bool = True
    max_length: int = TEXT_MAX


@dataclass(frozen=True)
class KindSpec:
    kind: str
    label: str
    fields: tuple[Field, ...]
    due_in: timedelta
    recipient_roles: frozenset[str] = field(default_factory=frozenset)  # empty: anyone on the team
    title_field: str = ""

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


URGENCY = (
    ("routine", "Routine — within a week"),
    ("soon", "Soon — within 2 days"),
    ("urgent", "Urgent — today"),
)
URGENCY_DUE = {"routine": timedelta(days=7), "soon": timedelta(days=2), "urgent": timedelta(hours=8)}
OBSERVATION = (
    ("side_effect", "Side effect raised in session"),
    ("concern", "Other concern raised in session"),
)
AREAS = (("medication", "Medication"), ("therapy", "Therapy"), ("other", "Other"))
PRESCRIBING = frozenset({Role.PRESCRIBER, Role.PSYCHIATRIC_CONSULTANT})

KINDS: dict[str, KindSpec] = {
    HandoffKind.CONSULT_REQUEST: KindSpec(
        HandoffKind.CONSULT_REQUEST,
        "Consult request",
        (
            Field("question", "Question", "What you would like them to consider."),
            Field("urgency", "Urgency", choices=URGENCY),
        ),
        due_in=timedelta(days=7),
        title_field="question",
    ),
    HandoffKind.MEDICATION_CHANGE: KindSpec(
        HandoffKind.MEDICATION_CHANGE,
        "Medication-change notice",
        (
            Field("what_changed", "What changed", "The medicine, the old and new dose, and when."),
            Field(
                "watch_for", "What to watch for in therapy", "Effects or risks to look out for in sessions."
            ),
        ),
        due_in=timedelta(days=7),
        title_field="what_changed",
    ),
    HandoffKind.SESSION_OBSERVATION: KindSpec(
        HandoffKind.SESSION_OBSERVATION,
        "Session observation for the prescriber",
        (
            Field("observation_type", "What was raised", choices=OBSERVATION),
            Field("observation", "Observation", "What the patient said or you noticed, and since when."),
        ),
        due_in=timedelta(days=3),
        recipient_roles=PRESCRIBING,
        title_field="observation",
    ),
    HandoffKind.PLAN_PROPOSAL: KindSpec(
        HandoffKind.PLAN_PROPOSAL,
        "Treatment-plan proposal",
        (Field("summary", "Summary of the proposal", "What you propose to change in the plan, and why."),),
        due_in=timedelta(days=7),
        title_field="summary",
    ),
    HandoffKind.CASE_REVIEW: KindSpec(
        HandoffKind.CASE_REVIEW,
        "Case-review recommendation",
        (
            Field("area", "Recommendation about", choices=AREAS),
            Field("recommendation", "Recommendation"),
        ),
        due_in=timedelta(days=7),
        title_field="recommendation",
    ),
}


def spec_for(kind: str) -> KindSpec:
    if kind not in KINDS:
        raise HandoffError("kind", f"choose one of: {', '.join(s.label for s in KINDS.values())}")
    return KINDS[kind]


def clean_details(spec: KindSpec, data: dict[str, object]) -> dict[str, str]:
    """The kind's own fields, stripped and checked; the first problem raises with its field."""
    cleaned: dict[str, str] = {}
    for f in spec.fields:
        value = str(data.get(f.name) or "").strip()
        if not value:
            if f.required:
                raise HandoffError(f.name, "choose one" if f.choices else "this is required")
            continue
        if f.choices and value not in dict(f.choices):
            raise HandoffError(f.name, f"choose one of: {', '.join(label for _, label in f.choices)}")
        if len(value) > f.max_length:
            raise HandoffError(f.name, f"at most {f.max_length} characters (this is {len(value)})")
        cleaned[f.name] = value
    return cleaned


def title_of(spec: KindSpec, details: dict[str, str]) -> str:
    text = " ".join(details.get(spec.title_field, "").split())
    return text if len(text) <= 120 else text[:119] + "…"


def labelled(spec: KindSpec, details: dict[str, str]) -> list[tuple[str, str]]:
    """(label, shown value) for each field the hand-off has, in the kind's order."""
    rows = []
    for f in spec.fields:
        if f.name in details:
            value = details[f.name]
            rows.append((f.label, dict(f.choices).get(value, value) if f.choices else value))
    return rows


def parse_due(text: str, tz: ZoneInfo) -> datetime | None:
    """A date and time typed in the patient's time zone ("2025-03-14T17:00"), as a UTC instant."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise HandoffError("due_by", "give a date and time, e.g. 2025-03-14 17:00") from None
    if local.tzinfo is not None:
        raise HandoffError("due_by", "give a date and time without a time zone")
    return at_local(local.date(), local.time().replace(second=0, microsecond=0), tz)


def due_input(instant: datetime, tz: ZoneInfo) -> str:
    return instant.astimezone(tz).strftime("%Y-%m-%dT%H:%M")
