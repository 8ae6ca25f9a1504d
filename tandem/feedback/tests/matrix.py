"""Feedback URLs in the access matrix (tests/test_access_matrix.py).

Visit feedback: only the visit's clinician and the patient's care manager — the kwargs builder
makes an attended therapy visit of the therapist's with feedback, so the prescriber and the
consultant (team members with no visit) are refused like everyone off the team. Check-ins: the
care team (therapy summaries; the consented clinician is consented for medications and measures
only). Portal: the lists are the patient's own; one visit's form is tested for its owner in
tandem/feedback/tests/test_portal_feedback.py.
"""

from __future__ import annotations

TEAM = {"prescriber", "therapist", "care_manager", "consultant"}

PATIENT_SCOPED = {
    "feedback:list": ("GET", {"therapist", "care_manager"}),
    "feedback:checkins": ("GET", TEAM),
}
PORTAL = {"portal_feedback:visits", "portal_feedback:checkin"}
PORTAL_OWN_OBJECT = {"portal_feedback:visit"}
PORTAL_POST = {"portal_feedback:skip"}


def kwargs(personas, name: str) -> dict | None:
    if name == "feedback:list":
        from tandem.feedback.tests.factories import give, visit

        give(visit(personas.patient, personas.therapist), personas.patient_user, overall=9)
        return {"patient_id": personas.patient.pk}
    if name == "feedback:checkins":
        return {"patient_id": personas.patient.pk}
    return None
