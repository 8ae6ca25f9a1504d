"""Sessions and notes for the tests of session notes (sessions are made directly: their own
pages are another capability's)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from tandem.notes.actions import NoteInput, do_sign_progress_note
from tandem.notes.models import ProgressNote, PsychotherapyNote
from tandem.notes.private_actions import do_write_psychotherapy_note
from tandem.therapy.models import Session, SessionStatus

COMPLETE = {
    "modality": "cbt",
    "interventions": ["cbt_thought_record", "cbt_homework_review"],
    "homework": "Two thought records before next week",
    "suicidal_ideation": "none_reported",
    "self_harm": "none_reported",
    "risk_level": "low",
    "safety_plan_reviewed": True,
    "summary": "Mood lifting since the last session.\nSleeping better.",
}


def attended_session(patient: Any, clinician: Any, *, days_ago: int = 2, **extra: Any) -> Session:
    fields = {
        "patient": patient,
        "clinician": clinician,
        "kind": "therapy",
        "modality": "cbt",
        "starts_at": timezone.now() - timedelta(days=days_ago),
        "status": SessionStatus.ATTENDED,
        **extra,
    }
    return Session.objects.create(**fields)


def complete(**changes: Any) -> NoteInput:
    return NoteInput(**{**COMPLETE, **changes})


def signed_note(patient: Any, clinician: Any, *, days_ago: int = 2, **changes: Any) -> ProgressNote:
    session = attended_session(patient, clinician, days_ago=days_ago)
    note, _ = do_sign_progress_note(session, complete(**changes), acting_user=clinician)
    return note


def private_note(patient: Any, author: Any, text: str) -> PsychotherapyNote:
    note, _ = do_write_psychotherapy_note(patient, text, acting_user=author)
    return note
