"""Care time in the access matrix (tests/test_access_matrix.py).

The care team reads and logs; an entry is corrected or removed by its author only (the matrix's
entry is the care manager's); the organisation report is its admin's; "my care time" is every
clinician's own (a clinician of another organisation sees their own patients, none of Pat's).
"""

from __future__ import annotations

TEAM = {"prescriber", "therapist", "care_manager", "consultant"}

PATIENT_SCOPED = {
    "caretime:month": ("GET", TEAM),
    "caretime:month_csv": ("GET", TEAM),
    "caretime:log": ("POST", TEAM),
    "caretime:edit": ("GET", {"care_manager"}),
    "caretime:delete": ("POST", {"care_manager"}),
}
ORG_ADMIN = {"caretime:org_report": "GET", "caretime:org_report_csv": "GET"}
CLINICIAN_ONLY = {"caretime:my_report": "GET", "caretime:my_report_csv": "GET"}


def kwargs(personas, name: str) -> dict | None:
    if not name.startswith("caretime:"):
        return None
    found: dict = {"patient_id": personas.patient.pk}
    if name in ("caretime:edit", "caretime:delete"):
        from tandem.caretime.actions import do_log_time, patient_today

        entry, _ = do_log_time(
            personas.patient,
            data={
                "activity": "follow_up",
                "day": patient_today(personas.patient).isoformat(),
                "minutes": "20",
                "note": "",
            },
            acting_user=personas.care_manager,
            role="care_manager",
        )
        found["entry_id"] = entry.pk
    return found
