"""The registry in the access matrix (tests/test_access_matrix.py).

The caseload, its CSV, the case-review list and the dashboard page are every clinician's: each
sees only the patients they may open (the dashboard's figures only for care managers and
consultants — tandem/registry/tests/test_access.py checks that). The organisation view of the
dashboard is its admin's. A patient's review page and "request a case review" are the care
team's; recording a recommendation is the team's psychiatric consultant's.
"""

from __future__ import annotations

TEAM = {"prescriber", "therapist", "care_manager", "consultant"}

CLINICIAN_ONLY = {
    "registry:caseload": "GET",
    "registry:caseload_csv": "GET",
    "registry:review": "GET",
    "registry:dashboard": "GET",
}
ORG_ADMIN = {"registry:org_dashboard": "GET"}
PATIENT_SCOPED = {
    "registry:patient_review": ("GET", TEAM),
    "registry:request_review": ("POST", TEAM),
    "registry:recommend": ("POST", {"consultant"}),
}


def kwargs(personas, name: str) -> dict | None:
    if name in PATIENT_SCOPED:
        return {"patient_id": personas.patient.pk}
    return None
