"""Hand-offs and messages in the access matrix (tests/test_access_matrix.py).

The care team reads and writes hand-offs and message threads; the consented outside clinician
(medications and measures only) and the org admin see neither. Only the recipient — the
prescriber, for the hand-off the kwargs build — acknowledges and completes a hand-off.
"""

from __future__ import annotations

TEAM = {"prescriber", "therapist", "care_manager", "consultant"}

PATIENT_SCOPED = {
    "handoffs:list": ("GET", TEAM),
    "handoffs:new": ("GET", TEAM),
    "handoffs:detail": ("GET", TEAM),
    "handoffs:acknowledge": ("POST", {"prescriber"}),
    "handoffs:complete": ("POST", {"prescriber"}),
    "handoffs:threads": ("GET", TEAM),
    "handoffs:thread_new": ("GET", TEAM),
    "handoffs:thread": ("GET", TEAM),
    "handoffs:reply": ("POST", TEAM),
}
CLINICIAN_ONLY = {"handoff_tasks:mine": "GET"}
PORTAL = {"portal_handoffs:messages", "portal_handoffs:message_new"}
# A thread of one's own and replies to it: tandem/handoffs/tests/test_portal_messages.py.
PORTAL_OWN_OBJECT = {"portal_handoffs:thread"}
PORTAL_POST = {"portal_handoffs:reply"}
# The JSON API: the patient's threads like the portal's; one thread and replies to it are tested
# with tokens, scopes and personas in tandem/handoffs/tests/test_api.py.
PORTAL |= {"api:message_threads"}
PORTAL_OWN_OBJECT |= {"api:message_thread"}
API_WRITES = {"api:message_post"}


def kwargs(personas, name: str) -> dict | None:
    from tandem.handoffs.tests.helpers import observation, shared_thread

    if not name.startswith("handoffs:"):
        return None
    found: dict = {"patient_id": personas.patient.pk}
    if name in ("handoffs:detail", "handoffs:acknowledge", "handoffs:complete"):
        found["handoff_id"] = observation(personas).pk
    elif name in ("handoffs:thread", "handoffs:reply"):
        found["thread_id"] = shared_thread(personas).pk
    return found
