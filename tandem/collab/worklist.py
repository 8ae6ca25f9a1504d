from __future__ import annotations

from typing import Any

from django.urls import reverse

from tandem.collab.access import by_inbox_order, routed_to
from tandem.collab.models import AlertStatus
from tandem.lib.worklist import WorkItem


def open_alerts(user: Any) -> list[WorkItem]:
    """The 20 most urgent alerts routed to the user that nobody has acknowledged (one query)."""
    alerts = by_inbox_order(
        routed_to(int(user.pk or 0)).filter(status=AlertStatus.OPEN).select_related("patient")
    )[:20]
    return [
        WorkItem(
            kind=f"{alert.get_severity_display()} alert",
            text=f"{alert.patient.name}: {alert.title}",
            link=reverse("collab:patient_alerts", kwargs={"patient_id": alert.patient_id}),
        )
        for alert in alerts
    ]
