"""Overdue monitoring: one alert per row left undone past its grace period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat

from tandem.collab.actions import do_raise_alert
from tandem.collab.models import Alert, Severity
from tandem.core import jobs
from tandem.lib.timezones import local_date
from tandem.medications import labs
from tandem.medications.models import (
    MonitoringDue,
    RegimenStatus,
)
from tandem.medications.monitoring.answers import _open, overdue_key
from tandem.medications.monitoring.base import NOTIFY, OVERDUE_KIND, ROUTE_TO, setting
from tandem.medications.monitoring.schedules import item_for

# ---------------------------------------------------------------------------------------------
# Overdue monitoring.


@dataclass
class OverdueResult:
    raised: int = 0
    not_yet: int = 0


def evaluate_overdue(now: datetime, *, limit: int = 500) -> OverdueResult:
    """Raise one alert per open row more than `overdue_grace_days` past its due date (the
    patient's local date), never twice for a row, even after its alert was resolved: the rows
    that already have an alert are left out by the query. Safe in several workers at once
    (do_raise_alert keeps one open alert per row)."""
    grace = setting("overdue_grace_days")
    # A zone far ahead of UTC is a day later: the query takes a day too many, Python sorts it out.
    latest = now.astimezone(UTC).date() + timedelta(days=1) - timedelta(days=grace)
    alerted = Alert.objects.filter(
        patient_id=OuterRef("patient_id"),
        dedup_key=Concat(Value("lab_overdue:"), Cast(OuterRef("pk"), output_field=CharField())),
    )
    rows = (
        _open(MonitoringDue.objects.filter(due_date__lt=latest))
        .exclude(regimen__status=RegimenStatus.STOPPED)
        .filter(~Exists(alerted))
        .select_related("patient", "regimen")
        .order_by("due_date", "pk")[:limit]
    )
    result = OverdueResult()
    for row in rows:
        if jobs.stop_requested():
            break
        late = (local_date(now, row.patient.time_zone) - row.due_date).days
        if late <= grace:
            result.not_yet += 1
            continue
        with transaction.atomic():
            _, created = _alert_overdue(row, late)
        result.raised += int(created)
    return result


def _alert_overdue(row: MonitoringDue, late: int) -> tuple[Alert, bool]:
    item = item_for(row.rule_id)
    label = labs.test_label(row.kind)
    drug = f" ({row.regimen.drug_name})" if row.regimen else ""
    return do_raise_alert(
        row.patient,
        kind=OVERDUE_KIND,
        severity=item.overdue if item else Severity.ROUTINE,
        title=f"Lab overdue: {label}{drug}",
        reason=(
            f"{label} was due on {row.due_date:%d %b %Y}{drug} and no result has been recorded "
            f"{late} days later (alerts after {setting('overdue_grace_days')} days). Why it was due: "
            f"{row.reason}. Rule {row.rule_id}. Source: {row.source or 'not recorded'}."
        ),
        rule_id=row.rule_id or "lab-overdue",
        source=row.source,
        dedup_key=overdue_key(row),
        route_to=list(ROUTE_TO),
        notify_roles=list(NOTIFY),
        subject=row,
    )
