"""Plans for tests, made through the actions like real ones."""

from __future__ import annotations

from typing import Any

from tandem.accounts.models import User
from tandem.patients.models import Patient
from tandem.plans.actions import do_create_plan, do_set_plan_status
from tandem.plans.models import TreatmentPlan

CONTENT: dict[str, Any] = {
    "goals": [
        {
            "kind": "clinical",
            "text": "Remission of depression",
            "measure": "phq9",
            "comparator": "<",
            "target": 5,
        },
        {"kind": "patient", "text": "Get back to running"},
    ],
    "therapy": [{"modality": "cbt", "frequency": "weekly", "planned_sessions": 12}],
    "medication": {"approach": "Start an SSRI (sertraline)"},
    "monitoring": [{"instrument": "phq9", "every_days": 14}],
    "responsibilities": [{"who": "prescriber", "what": "Reviews the medication every 4 weeks"}],
}


def active_plan(patient: Patient, author: User, content: dict[str, Any] | None = None) -> TreatmentPlan:
    plan = do_create_plan(patient, acting_user=author, role="therapist", content=content or CONTENT)
    return do_set_plan_status(plan, "active", acting_user=author, role="therapist")
