from __future__ import annotations

from typing import Any

from django.urls import reverse

from tandem.lib.worklist import WorkItem
from tandem.plans.access import plans_awaiting_acknowledgement


def acknowledge_plan_changes(user: Any) -> list[WorkItem]:
    return [
        WorkItem(
            kind="Acknowledge plan change",
            text=f"{plan.patient.name}: revision {plan.current.number} by "  # type: ignore[union-attr]
            f"{plan.current.author.display_name if plan.current and plan.current.author else 'the patient'} — "
            f"{plan.current.reason if plan.current else ''}",
            link=reverse("plans:plan", kwargs={"patient_id": plan.patient_id}),
        )
        for plan in plans_awaiting_acknowledgement(user)
    ]
