"""Measures URLs in the access matrix (tests/test_access_matrix.py).

Responses and trends: the care team and clinicians consented for measures read them (the PDF
too); the therapist, prescriber and care manager administer an instrument in session (the
consultant advises on scores, the consented outside clinician reads). Portal: the due list, a
questionnaire form and the patient's own trend are theirs; the confirmation of one response is
tested for its owner in tandem/measures/tests/test_views.py, and the reminder e-mail switch in
tandem/measures/tests/test_reminder_views.py.
"""

from __future__ import annotations

TEAM = {"prescriber", "therapist", "care_manager", "consultant"}
ADMINISTER = {"prescriber", "therapist", "care_manager"}

PATIENT_SCOPED = {
    "measures:responses": ("GET", TEAM | {"consented"}),
    "measures:response": ("GET", TEAM | {"consented"}),
    "measures:administer": ("GET", ADMINISTER),
    "measures:trend": ("GET", TEAM | {"consented"}),
    "measures:trend_pdf": ("GET", TEAM | {"consented"}),
}
PORTAL = {"portal_measures:due", "portal_measures:answer", "portal_measures:trend"}
PORTAL_KWARGS = {
    "portal_measures:answer": {"instrument": "phq-9"},
    "portal_measures:trend": {"instrument": "phq-9"},
}
PORTAL_OWN_OBJECT = {"portal_measures:done"}
# The JSON API: the due list is the patient's own like a portal page; answers sent by an app are
# tested with tokens, scopes and personas in tandem/measures/tests/test_api.py.
PORTAL |= {"api:questionnaires_due"}
API_WRITES = {"api:questionnaire_respond"}
# Acts on the signed-in patient's own reminder choice only (tandem/measures/tests/test_reminder_views.py).
PORTAL_POST = {"portal_measures:reminder_emails"}


def kwargs(personas, name: str) -> dict | None:
    if not name.startswith("measures:"):
        return None
    found: dict = {"patient_id": personas.patient.pk}
    if name in ("measures:administer", "measures:trend", "measures:trend_pdf"):
        found["instrument"] = "phq-9"
    if name == "measures:response":
        from tandem.measures.actions import do_record_response
        from tandem.measures.tests.helpers import phq9

        submission = do_record_response(
            personas.patient,
            instrument="phq-9",
            answers=phq9([1] * 9),
            administered_by="patient",
            source="portal",
            idempotency_key="matrix-measures-1",
            acting_user=personas.patient_user,
        )
        found["response_id"] = submission.response.pk
    return found
