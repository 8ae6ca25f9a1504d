"""Safety-workflow URLs in the access matrix (tests/test_access_matrix.py).

Like alerts, the safety workflow is the care team's: the team reads it; the therapist, prescriber
and care manager document a risk assessment (the consultant advises). Not consented outside
clinicians, not the organisation's administrator. The "Help now" page is the patient's own.
"""

from __future__ import annotations

TEAM = {"prescriber", "therapist", "care_manager", "consultant"}
ASSESSORS = {"prescriber", "therapist", "care_manager"}

PATIENT_SCOPED = {
    "safety:overview": ("GET", TEAM),
    "safety:assess": ("POST", ASSESSORS),
}
PORTAL = {"portal_safety:now"}


def kwargs(personas, name: str) -> dict | None:
    if not name.startswith("safety:"):
        return None
    return {"patient_id": personas.patient.pk}
