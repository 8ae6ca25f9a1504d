"""Skills practice in the access matrix (tests/test_access_matrix.py).

The care team reads; the therapist and the care manager assign, comment and end. The patient's
own assignments and entries (ids in the URL) are tested in test_portal.py: another patient's id
is 404."""

from __future__ import annotations

TEAM = {"prescriber", "therapist", "care_manager", "consultant"}
WRITERS = {"therapist", "care_manager"}

PATIENT_SCOPED = {
    "practice:list": ("GET", TEAM),
    "practice:assign": ("GET", WRITERS),
    "practice:assignment": ("GET", TEAM),
    "practice:end": ("POST", WRITERS),
    "practice:diary_week": ("GET", TEAM),
    "practice:diary_week_pdf": ("GET", TEAM),
    "practice:entry": ("GET", TEAM),
}
PORTAL = {"portal_practice:list"}
PORTAL_OWN_OBJECT = {"portal_practice:fill", "portal_practice:draft", "portal_practice:entry"}


def kwargs(personas, name: str) -> dict | None:
    if not name.startswith("practice:"):
        return None
    from tandem.practice.tests.factories import assign, submit

    found: dict = {"patient_id": personas.patient.pk}
    if name in ("practice:list", "practice:assign"):
        return found
    assignment = assign(personas, template="diary_card")
    if name == "practice:entry":
        return {**found, "entry_id": submit(personas, assignment).pk}
    return {**found, "assignment_id": assignment.pk}
