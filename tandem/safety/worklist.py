"""Risk assessments waiting on the clinician's start page: open tasks of their team's patients."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone

from tandem.lib.worklist import WorkItem
from tandem.patients.models import CareTeamMember, active_on
from tandem.safety.access import ASSESSING_ROLES
from tandem.safety.models import AssessmentTask, TaskStatus


def assessments_due(user: Any) -> list[WorkItem]:
    team = CareTeamMember.objects.filter(
        active_on(timezone.localdate()), user=user, role__in=ASSESSING_ROLES
    ).values("patient_id")
    tasks = (
        AssessmentTask.objects.filter(status=TaskStatus.OPEN, patient_id__in=team)
        .select_related("patient")
        .order_by("created_at")[:20]
    )
    return [
        WorkItem(
            kind="Risk assessment",
            text=f"{task.patient.name}: document a suicide risk assessment (safety flag open)",
            link=reverse("safety:assess", kwargs={"patient_id": task.patient_id}),
        )
        for task in tasks
    ]
