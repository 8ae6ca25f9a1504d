"""Session notes in the access matrix (tests/test_access_matrix.py).

Progress notes: the team reads signed notes (the personas' consent does not cover therapy
summaries); the session's clinician — the therapist persona — writes, signs and adds addenda.
Psychotherapy notes: the therapist persona alone, as the author of the note the kwargs build.
"""

from __future__ import annotations

TEAM = {"prescriber", "therapist", "care_manager", "consultant"}

PATIENT_SCOPED = {
    "notes:list": ("GET", TEAM),
    "notes:progress": ("GET", TEAM),
    "notes:progress_edit": ("GET", {"therapist"}),
    "notes:addendum": ("POST", {"therapist"}),
    "notes:private_list": ("GET", {"therapist"}),
    "notes:private_new": ("GET", {"therapist"}),
    "notes:private": ("GET", {"therapist"}),
}


def kwargs(personas, name: str) -> dict | None:
    from tandem.notes.tests.helpers import attended_session, private_note, signed_note

    if not name.startswith("notes:"):
        return None
    found: dict = {"patient_id": personas.patient.pk}
    if name in ("notes:progress", "notes:addendum"):
        found["session_id"] = signed_note(personas.patient, personas.therapist).session_id
    elif name == "notes:progress_edit":
        found["session_id"] = attended_session(personas.patient, personas.therapist).pk
    elif name == "notes:private":
        found["note_id"] = private_note(personas.patient, personas.therapist, "Matrix private note").pk
    return found
