"""Planning monitoring rows from regimens, and cancelling them on a stop."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from tandem.audit.actions import audit_patient_event
from tandem.audit.models import Action
from tandem.core import jobs
from tandem.lib.timezones import local_date
from tandem.medications import labs
from tandem.medications.catalog import Drug
from tandem.medications.models import (
    LabResult,
    MonitoringDue,
    Regimen,
    RegimenStatus,
    RegimenVersion,
)
from tandem.medications.monitoring.answers import _choose, _open, _resolve_overdue
from tandem.medications.monitoring.base import Event, setting
from tandem.medications.monitoring.schedules import PlanFacts, drug_for, planned_dues, schedule
from tandem.patients.models import Patient

# ---------------------------------------------------------------------------------------------
# Planning from regimens.


@dataclass
class PlanResult:
    created: int = 0
    cancelled: int = 0
    satisfied: int = 0
    rules: list[str] = field(default_factory=list)


def _event(version: RegimenVersion) -> Event | None:
    if version.kind == "start":
        return "start"
    if version.kind in ("increase", "decrease", "resume"):
        return "dose"
    if version.kind == "change":
        previous = RegimenVersion.objects.filter(
            regimen_id=version.regimen_id, number=version.number - 1
        ).first()
        if previous is not None and previous.daily_amount != version.daily_amount:
            return "dose"
    return None


def _facts(patient: Patient, version: RegimenVersion, day: date) -> PlanFacts:
    daily = version.daily_amount if version.dose_unit == "mg" else None
    return PlanFacts(age_years=patient.age_on(day), daily_mg=float(daily) if daily else None)


@transaction.atomic
def plan_monitoring(regimen: Regimen, version: RegimenVersion, *, now: datetime | None = None) -> PlanResult:
    """Create the MonitoringDue rows `version` calls for, or cancel them when it stops the regimen.

    Call it in the transaction that saved the version (do_start_regimen, do_change_regimen). It
    is idempotent: the rows are unique per (patient, regimen, kind, due date), so a second call
    creates nothing. A dose change cancels the open steady-state level it makes moot. New rows
    are answered at once by results already recorded inside their window (a baseline drawn the
    week before the start).
    """
    now = now or timezone.now()
    patient = regimen.patient
    today = local_date(now, patient.time_zone)
    if version.status == RegimenStatus.STOPPED:
        return _cancel_on_stop(regimen, version, today)
    event = _event(version)
    if event is None:
        return PlanResult()
    anchor = local_date(version.effective_at, patient.time_zone)
    result = _plan(regimen, drug_for(regimen), event, anchor, _facts(patient, version, anchor), today)
    if result.created or result.cancelled:
        audit_patient_event(
            version.author,
            Action.CREATE,
            "MonitoringDue",
            regimen.pk,
            patient,
            request=None,
            regimen=regimen.pk,
            version=version.number,
            created=result.created,
            cancelled=result.cancelled,
            satisfied=result.satisfied,
            rules=result.rules,
        )
    return result


def _plan(
    regimen: Regimen, drug: Drug, event: Event, anchor: date, facts: PlanFacts, today: date
) -> PlanResult:
    until = max(anchor, today) + timedelta(days=setting("horizon_days"))
    not_before = today - timedelta(days=setting("backfill_days"))
    dues = [d for d in planned_dues(drug, event, anchor, until, facts) if d.due >= not_before]
    result = PlanResult(rules=sorted({d.item.rule_id for d in dues}))
    if not dues:
        return result
    patient = regimen.patient
    existing = set(
        MonitoringDue.objects.filter(
            regimen=regimen, due_date__gte=min(d.due for d in dues), due_date__lte=max(d.due for d in dues)
        ).values_list("kind", "due_date")
    )
    new: dict[tuple[str, date], MonitoringDue] = {}
    for d in dues:
        if (d.test, d.due) not in existing and (d.test, d.due) not in new:
            new[(d.test, d.due)] = MonitoringDue(
                patient=patient,
                regimen=regimen,
                kind=d.test,
                due_date=d.due,
                reason=d.item.reason[:300],
                rule_id=d.item.rule_id,
                source=d.item.cited,
            )
    # A concurrent call may have inserted the same rows: the unique constraint keeps one of each.
    MonitoringDue.objects.bulk_create(new.values(), ignore_conflicts=True)
    result.created = len(new)
    for item in {d.item.rule_id: d.item for d in dues if d.item.supersede}.values():
        first = min(d.due for d in dues if d.item.rule_id == item.rule_id)
        result.cancelled += (
            _open(MonitoringDue.objects.filter(regimen=regimen, rule_id=item.rule_id))
            .filter(due_date__gt=anchor, due_date__lt=first)
            .update(cancelled=True)
        )
    if new:
        result.satisfied = _answer_from_recorded(regimen, min(due for _, due in new))
    return result


def _answer_from_recorded(regimen: Regimen, earliest: date) -> int:
    """Let results already recorded answer the regimen's open rows (newly planned ones included)."""
    rows = list(
        _open(MonitoringDue.objects.filter(regimen=regimen, due_date__gte=earliest)).order_by("due_date")
    )
    kinds = {k for row in rows for k in labs.TESTS[row.kind].lab_kinds if row.kind in labs.TESTS}
    if not rows or not kinds:
        return 0
    reach = max((item.early_days for item in schedule()), default=0)
    since = earliest - timedelta(days=reach + 1)
    tz = regimen.patient.time_zone
    results = LabResult.objects.filter(
        patient_id=regimen.patient_id, kind__in=kinds, observed_at__gte=_start_of(since)
    ).order_by("observed_at")
    answered = 0
    for lab in results:
        chosen = _choose(rows, lab.kind, local_date(lab.observed_at, tz))
        for row in chosen:
            row.satisfied_by = lab
            row.save(update_fields=["satisfied_by"])
        answered += len(chosen)
        rows = [r for r in rows if r.satisfied_by_id is None]
    return answered


def _start_of(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


def _cancel_on_stop(regimen: Regimen, version: RegimenVersion, today: date) -> PlanResult:
    """Cancel the open rows due from the stop on, and those already past due (moot for a drug no
    longer taken). A stop planned for later keeps the rows due before it."""
    stop = local_date(version.effective_at, regimen.patient.time_zone)
    rows = list(
        _open(MonitoringDue.objects.filter(regimen=regimen)).filter(
            Q(due_date__gte=stop) | Q(due_date__lt=today)
        )
    )
    if not rows:
        return PlanResult()
    MonitoringDue.objects.filter(pk__in=[r.pk for r in rows]).update(cancelled=True)
    if version.author is not None:
        _resolve_overdue(regimen.patient, rows, f"{regimen.drug_name} was stopped.", version.author)
    audit_patient_event(
        version.author,
        Action.UPDATE,
        "MonitoringDue",
        regimen.pk,
        regimen.patient,
        request=None,
        regimen=regimen.pk,
        version=version.number,
        cancelled=len(rows),
    )
    return PlanResult(cancelled=len(rows))


def extend_monitoring(now: datetime, *, limit: int = 200) -> PlanResult:
    """Plan recurring rows further ahead for running regimens whose last one comes within 60 days
    (or half the horizon) of the horizon. Idempotent; safe in several workers at once (the unique
    constraint)."""
    recurring = [item.rule_id for item in schedule() if item.every]
    horizon = setting("horizon_days")
    soon = now.astimezone(UTC).date() + timedelta(days=horizon - min(60, horizon // 2))
    regimens = (
        Regimen.objects.filter(status__in=[RegimenStatus.ACTIVE, RegimenStatus.HELD])
        .annotate(last=Max("monitoring__due_date", filter=Q(monitoring__rule_id__in=recurring)))
        .filter(last__lt=soon)
        .select_related("patient")
        .order_by("last", "pk")[:limit]
    )
    total = PlanResult()
    for regimen in regimens:
        if jobs.stop_requested():
            break
        start = RegimenVersion.objects.filter(regimen=regimen, number=1).first()
        if start is None:
            continue
        patient = regimen.patient
        anchor = local_date(start.effective_at, patient.time_zone)
        today = local_date(now, patient.time_zone)
        with transaction.atomic():
            done = _plan(regimen, drug_for(regimen), "start", anchor, _facts(patient, start, anchor), today)
            if done.created:
                audit_patient_event(
                    None,
                    Action.CREATE,
                    "MonitoringDue",
                    regimen.pk,
                    patient,
                    request=None,
                    regimen=regimen.pk,
                    created=done.created,
                    extended=True,
                )
        total.created += done.created
        total.satisfied += done.satisfied
    return total
