"""Recording a result: checked, flagged, audited, answering the rows it satisfies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from tandem.accounts.models import User
from tandem.audit.actions import audit_patient_event
from tandem.audit.models import Action
from tandem.collab.actions import do_raise_alert
from tandem.collab.models import Alert, Severity
from tandem.lib.timezones import local_date
from tandem.medications import labs
from tandem.medications.actions import MedicationError
from tandem.medications.models import (
    FillSource,
    LabResult,
    MonitoringDue,
    Regimen,
    RegimenStatus,
)
from tandem.medications.monitoring.answers import _choose, _open, _resolve_overdue
from tandem.medications.monitoring.base import (
    ALERT_KIND,
    FUTURE_TOLERANCE,
    NOTIFY,
    ROUTE_TO,
    WEIGHT_BASELINE_AFTER_START,
    setting,
)
from tandem.medications.monitoring.schedules import drug_for, schedule
from tandem.patients.models import Patient

# ---------------------------------------------------------------------------------------------
# Recording a result.


@dataclass
class LabRecorded:
    lab: LabResult
    created: bool
    flag: labs.LabFlag
    satisfied: list[MonitoringDue] = field(default_factory=list)
    alert: Alert | None = None  # the alert of an out-of-range result…
    alert_created: bool = False  # …new, or the condition's alert already open


def out_of_range_key(kind: str, level: str) -> str:
    """One open alert per lab kind and level: a second high lithium level while the first alert
    is open adds nothing; a critical one is a new condition."""
    return f"lab:{kind}:{level}"


@transaction.atomic
def do_record_lab(
    patient: Patient,
    *,
    kind: str,
    value: Any,
    unit: str,
    observed_at: datetime | None,
    source: str = FillSource.STAFF,
    external_id: str = "",
    note: str = "",
    acting_user: User | None,
    role: str = "",
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> LabRecorded:
    """Record one result; MedicationError names the field that is wrong.

    The same result again (same `external_id`, or same kind, time, value and unit) returns the
    first record: imports and double submits are harmless. The result answers the open
    monitoring rows it satisfies (see `_choose`) and resolves their overdue alerts. Out of range
    (labs.evaluate), it alerts the team's prescriber (urgent when critical, else high) and tells
    the care manager, with the threshold and its source; a result observed more than
    `alert_within_days` ago is flagged without an alert.
    """
    now = now or timezone.now()
    try:
        lab_kind, lab_unit, amount = labs.clean(kind, value, unit)
    except labs.LabInputError as exc:
        raise MedicationError(exc.field, str(exc)) from None
    if observed_at is None:
        raise MedicationError("observed_at", "say when the sample was taken")
    if timezone.is_naive(observed_at):
        raise MedicationError("observed_at", "needs a time zone")
    if observed_at > now + FUTURE_TOLERANCE:
        raise MedicationError("observed_at", "is in the future")
    if local_date(observed_at, patient.time_zone) < patient.date_of_birth:
        raise MedicationError("observed_at", "is before the patient was born")
    if source not in FillSource.values:
        raise MedicationError("source", f"must be one of {', '.join(FillSource.values)}")
    external_id, note = external_id.strip(), note.strip()
    if len(external_id) > 100:
        raise MedicationError("external_id", "is longer than 100 characters")
    if len(note) > 300:
        raise MedicationError("note", "is longer than 300 characters")
    # Serialise results of one patient (PostgreSQL), so that the duplicate check below holds.
    list(Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk", flat=True))
    same = LabResult.objects.filter(patient=patient)
    if external_id:
        same = same.filter(external_id=external_id)
    else:
        same = same.filter(kind=lab_kind.key, observed_at=observed_at, value=amount, unit=lab_unit.name)
    existing = same.first()
    if existing is not None:
        flag = _evaluate(
            patient, existing.kind, existing.value, existing.unit, existing.observed_at, existing.pk
        )
        return LabRecorded(existing, created=False, flag=flag)
    flag = _evaluate(patient, lab_kind.key, amount, lab_unit.name, observed_at, None)
    lab = LabResult.objects.create(
        patient=patient,
        kind=lab_kind.key,
        value=amount,
        unit=lab_unit.name,
        observed_at=observed_at,
        flag=flag.level,
        source=source,
        external_id=external_id,
        note=note,
        entered_by=acting_user,
        created_at=now,
    )
    satisfied = _answer(patient, lab)
    if satisfied and acting_user is not None:
        label = labs.KINDS[lab.kind].label
        when = timezone.localtime(observed_at, patient.tz).strftime("%d %b %Y")
        _resolve_overdue(patient, satisfied, f"{label} recorded for {when}.", acting_user)
    audit_patient_event(
        acting_user,
        Action.CREATE,
        "Observation",
        lab.pk,
        patient,
        request=request,
        role=role,
        kind=lab.kind,
        flag=flag.level,
        rule=flag.rule_id,
        source=source,
        satisfied=[row.pk for row in satisfied],
    )
    recorded = LabRecorded(lab, created=True, flag=flag, satisfied=satisfied)
    if flag.out_of_range and observed_at >= now - timedelta(days=setting("alert_within_days")):
        recorded.alert, recorded.alert_created = _alert_out_of_range(patient, lab, flag)
    return recorded


def _evaluate(
    patient: Patient, kind: str, value: Any, unit: str, observed_at: datetime, exclude: int | None
) -> labs.LabFlag:
    baseline = _weight_baseline(patient, observed_at, exclude) if kind == "weight" else None
    return labs.evaluate(kind, value, unit, organisation=patient.organisation, baseline=baseline)


def _weight_baseline(patient: Patient, observed_at: datetime, exclude: int | None) -> tuple[Any, str] | None:
    """The last weight up to 7 days after the earliest running antipsychotic start (ADA/APA 2004
    compares with the weight before it), when this result is later than that."""
    running = Regimen.objects.filter(
        patient=patient, status__in=[RegimenStatus.ACTIVE, RegimenStatus.HELD], started_at__lte=observed_at
    ).select_related("patient")
    starts = [r.started_at for r in running if "metabolic" in drug_for(r).monitoring]
    if not starts:
        return None
    cutoff = min(starts) + WEIGHT_BASELINE_AFTER_START
    if observed_at <= cutoff:
        return None
    weights = LabResult.objects.filter(patient=patient, kind="weight", observed_at__lte=cutoff)
    if exclude is not None:
        weights = weights.exclude(pk=exclude)
    base = weights.order_by("-observed_at", "-pk").first()
    return (base.value, base.unit) if base is not None else None


def _answer(patient: Patient, lab: LabResult) -> list[MonitoringDue]:
    tests = labs.tests_answered_by(lab.kind)
    observed = local_date(lab.observed_at, patient.time_zone)
    reach = max((item.early_days for item in schedule()), default=0)
    rows = list(
        _open(MonitoringDue.objects.filter(patient=patient, kind__in=tests))
        .filter(due_date__lte=observed + timedelta(days=reach))
        .select_for_update()
        .order_by("due_date", "pk")
    )
    chosen = _choose(rows, lab.kind, observed)
    if chosen:
        MonitoringDue.objects.filter(pk__in=[r.pk for r in chosen]).update(satisfied_by=lab)
        for row in chosen:
            row.satisfied_by = lab
    return chosen


def _alert_out_of_range(patient: Patient, lab: LabResult, flag: labs.LabFlag) -> tuple[Alert, bool]:
    kind = labs.KINDS[lab.kind]
    shown = labs.quantity(lab.value, lab.unit)
    when = timezone.localtime(lab.observed_at, patient.tz).strftime("%d %b %Y %H:%M")
    rules = labs.thresholds(lab.kind, patient.organisation)
    threshold = f"{rules.describe(flag.cut)} ({flag.cut.why})" if flag.cut else ""
    confidence = flag.source.confidence if flag.source else "unverified"
    reason = (
        f"{flag.message} Observed {when} ({patient.time_zone}). Threshold: {threshold}. "
        f"Source: {labs.cite(flag.source)}."
        + (
            " This threshold is not confirmed from a source; your organisation can change it."
            if confidence == "unverified"
            else ""
        )
    )
    level = {"critical": "Critical", "high": "High", "low": "Low"}[flag.level]
    return do_raise_alert(
        patient,
        kind=ALERT_KIND,
        severity=Severity.URGENT if flag.level == "critical" else Severity.HIGH,
        title=f"{level} lab result: {kind.label} {shown}",
        reason=reason,
        rule_id=flag.rule_id,
        source=labs.cite(flag.source),
        dedup_key=out_of_range_key(lab.kind, flag.level),
        route_to=list(ROUTE_TO),
        notify_roles=list(NOTIFY),
        subject=lab,
    )
