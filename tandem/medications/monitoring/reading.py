"""Reading monitoring for the pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from tandem.medications.models import (
    MonitoringDue,
    RegimenStatus,
)
from tandem.medications.monitoring.answers import _open
from tandem.patients.models import Patient

# ---------------------------------------------------------------------------------------------
# Reading, for the pages.


@dataclass
class Overview:
    overdue: list[MonitoringDue]
    upcoming: list[MonitoringDue]
    later: int


def overview(patient: Patient, today: date, *, ahead_days: int = 90, limit: int = 100) -> Overview:
    """Open rows up to `ahead_days` from today (past due first), and how many come later: two queries."""
    rows = list(
        _open(MonitoringDue.objects.filter(patient=patient, due_date__lte=today + timedelta(days=ahead_days)))
        .exclude(regimen__status=RegimenStatus.STOPPED)
        .select_related("regimen")
        .order_by("due_date", "kind", "pk")[:limit]
    )
    later = (
        _open(MonitoringDue.objects.filter(patient=patient, due_date__gt=today + timedelta(days=ahead_days)))
        .exclude(regimen__status=RegimenStatus.STOPPED)
        .count()
    )
    return Overview(
        overdue=[r for r in rows if r.due_date < today],
        upcoming=[r for r in rows if r.due_date >= today],
        later=later,
    )
