"""Practice data for tests, made through the actions as people would make it."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Any

from tandem.practice.actions import do_assign, do_submit_entry, patient_today
from tandem.practice.models import Assignment, Entry


def assign(
    personas: Any, *, template: str = "thought_record", frequency: str = "daily", **extra: Any
) -> Assignment:
    today = patient_today(personas.patient)
    fields: dict[str, Any] = {"start": today - timedelta(days=6), "end": None, **extra}
    if template == "worksheet":
        fields.setdefault("title", "Values")
        fields.setdefault("prompts", ["What matters to you?", "One step this week?"])
    return do_assign(
        personas.patient,
        template=template,
        frequency=frequency,
        acting_user=personas.therapist,
        role="therapist",
        **fields,
    )


THOUGHT_RECORD = {
    "situation": "Boss walked past without saying hello",
    "emotions-0-name": "Anxious",
    "emotions-0-rating": "80",
    "thoughts-0-text": "She is going to fire me",
    "hot": "0",
    "evidence_for": "She looked annoyed",
    "evidence_against": "She praised my report last week",
    "balanced": "She may just have been busy",
    "belief": "60",
    "emotions-0-after": "40",
}


def diary(day: date, **values: str) -> dict[str, str]:
    return {"day": day.isoformat(), "urge_self_harm": "1", "urge_suicide": "0", "skills": "5", **values}


def submit(personas: Any, assignment: Assignment, raw: dict[str, str] | None = None, key: str = "") -> Entry:
    if raw is None:
        raw = (
            diary(patient_today(personas.patient))
            if assignment.template == "diary_card"
            else dict(THOUGHT_RECORD)
        )
    result = do_submit_entry(
        assignment, raw=raw, key=key or secrets.token_urlsafe(12), acting_user=personas.patient_user
    )
    assert not result.errors, result.errors
    assert result.entry is not None
    return result.entry
