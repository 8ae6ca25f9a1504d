from __future__ import annotations

from typing import Any

from django.urls import reverse

from tandem.collab.access import open_alerts_for
from tandem.lib.worklist import WorkItem


def open_alerts(user: Any) -> list[WorkItem]:
    return [
        WorkItem(
            kind=f"{alert.get_severity_display()} alert",
            text=f"{alert.patient.name}: {alert.title}",
            link=reverse("collab:patient_alerts", kwargs={"patient_id": alert.patient_id}),
        )
        for alert in open_alerts_for(user, limit=20)
        if alert.status == "open"
    ]
