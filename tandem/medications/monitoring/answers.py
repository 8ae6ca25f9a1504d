"""Which monitoring rows a result answers, and the overdue alerts it settles."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from tandem.accounts.models import User
from tandem.collab.actions import do_resolve_alert
from tandem.collab.models import Alert, AlertStatus
from tandem.medications import labs
from tandem.medications.models import MonitoringDue
from tandem.medications.monitoring.schedules import items_by_rule
from tandem.patients.models import Patient


def _open(rows: Any) -> Any:
    return rows.filter(satisfied_by__isnull=True, cancelled=False)


def _choose(rows: Iterable[MonitoringDue], kind: str, observed: date) -> list[MonitoringDue]:
    """The open rows a result of `kind` observed on `observed` answers, per regimen and test:
    every row already due (the first result since), and the earliest row not yet due whose
    early window the result falls in."""
    tests = set(labs.tests_answered_by(kind))
    items = items_by_rule()
    chosen: list[MonitoringDue] = []
    ahead: set[tuple[int | None, str]] = set()
    for row in sorted(rows, key=lambda r: (r.due_date, r.pk or 0)):
        if row.kind not in tests or row.satisfied_by_id is not None or row.cancelled:
            continue
        if row.due_date <= observed:
            chosen.append(row)
            continue
        item = items.get(row.rule_id)
        early = item.early_days if item else 7
        group = (row.regimen_id, row.kind)
        if group not in ahead and row.due_date - timedelta(days=early) <= observed:
            ahead.add(group)
            chosen.append(row)
    return chosen


def overdue_key(row: MonitoringDue) -> str:
    return f"lab_overdue:{row.pk}"


def _resolve_overdue(patient: Patient, rows: list[MonitoringDue], note: str, acting_user: User) -> None:
    keys = [overdue_key(row) for row in rows]
    for alert in Alert.objects.filter(patient=patient, dedup_key__in=keys).exclude(
        status=AlertStatus.RESOLVED
    ):
        do_resolve_alert(alert, note=note, acting_user=acting_user)
