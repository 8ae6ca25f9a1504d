"""Every write about medications: one transaction, audited, follow-up work on commit."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, models, transaction
from django.http import HttpRequest
from django.utils import timezone

from tandem.accounts.models import User
from tandem.audit.actions import audit_patient_event
from tandem.audit.models import Action
from tandem.lib.prepared import PreparedLookup
from tandem.lib.timezones import day_bounds, local_date
from tandem.medications.models import (
    DoseLog,
    DoseStatus,
    Regimen,
    RegimenStatus,
    RegimenVersion,
    ScheduleKind,
)
from tandem.medications.queries import patient_due_doses
from tandem.patients.models import Patient

# Patients may record a dose up to 48 hours after it was due (late logging), and a little ahead.
LATE_LOGGING = timedelta(hours=48)
EARLY_LOGGING = timedelta(hours=3)


class MedicationError(ValueError):
    """Bad input; `field` names what was wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# The version an as-needed dose is checked against, on every dose logged: compiled once.
_PRN_VERSION = PreparedLookup(
    lambda regimen_id, moment: (
        RegimenVersion.objects.filter(regimen_id=regimen_id, effective_at__lte=moment)
        .order_by("-effective_at", "-number")
        .only("regimen", "status", "schedule_kind", "prn_max_per_day")
    ),
    regimen_id=int,
    moment=datetime,
)


def _prn_version_at(regimen: Regimen, moment: datetime) -> RegimenVersion | None:
    version = _PRN_VERSION.first(regimen_id=regimen.pk, moment=moment)
    if version is not None:
        version.regimen = regimen
    return version


def _version_at(regimen: Regimen, moment: datetime, *fields: str) -> RegimenVersion | None:
    """The version in force at `moment` (only `fields` loaded when named)."""
    versions = regimen.versions.filter(effective_at__lte=moment).order_by("-effective_at", "-number")
    # The regimen's id stays loaded: the related manager sets it on each version it returns.
    return (versions.only("regimen", *fields) if fields else versions).first()


def do_log_dose(
    patient: Patient,
    regimen: Regimen,
    *,
    status: str,
    idempotency_key: str,
    acting_user: User,
    due_at: datetime | None = None,
    taken_at: datetime | None = None,
    reason: str = "",
    role: str = "patient",
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> tuple[DoseLog, bool]:
    """Record one dose; (log, created). The same idempotency key returns the first record, so a
    retry or a double tap never records a dose twice."""
    now = now or timezone.now()
    key = idempotency_key.strip()
    if not 8 <= len(key) <= 64:
        raise MedicationError("idempotency_key", "must be 8 to 64 characters")

    def checked(due_at: datetime | None, taken_at: datetime | None, reason: str) -> tuple[Any, Any, str]:
        if regimen.patient_id != patient.pk:
            raise MedicationError("regimen", "is not one of this patient's medications")
        if status not in DoseStatus.values:
            raise MedicationError("status", f"must be one of {', '.join(DoseStatus.values)}")
        if taken_at is not None and taken_at > now + timedelta(minutes=5):
            raise MedicationError("taken_at", "is in the future")
        reason = reason.strip()[:300]
        if status == DoseStatus.AS_NEEDED:
            due_at = None
            taken_at = taken_at or now
            version = _prn_version_at(regimen, taken_at)
            if version is None or version.status != RegimenStatus.ACTIVE:
                raise MedicationError("regimen", "was not active at that time")
            if version.schedule_kind != ScheduleKind.AS_NEEDED:
                raise MedicationError("status", "this medication is taken at set times, not as needed")
            if not reason:
                raise MedicationError("reason", "say why you took it")
            if version.prn_max_per_day is not None:  # counted only when there is a most per day
                start, end = day_bounds(local_date(taken_at, patient.time_zone), patient.time_zone)
                today = DoseLog.objects.filter(
                    regimen=regimen, status=DoseStatus.AS_NEEDED, taken_at__gte=start, taken_at__lt=end
                ).count()
                if today >= version.prn_max_per_day:
                    raise MedicationError(
                        "status",
                        f"the most for one day is {version.prn_max_per_day}; ask your prescriber first",
                    )
        else:
            if due_at is None:
                raise MedicationError("due_at", "name the scheduled dose")
            if due_at > now + EARLY_LOGGING:
                raise MedicationError("due_at", "this dose is not due yet")
            if now - due_at > LATE_LOGGING:
                raise MedicationError(
                    "due_at", "doses can be recorded up to 48 hours late; this one is older"
                )
            day = local_date(due_at, patient.time_zone)
            scheduled = {d.due_at for d in patient_due_doses(patient, day, day, regimen_ids=[regimen.pk])}
            if due_at not in scheduled:
                version = _version_at(regimen, due_at)
                if version is None or version.status != RegimenStatus.ACTIVE:
                    raise MedicationError("regimen", "was not active at that time")
                raise MedicationError("due_at", "is not one of this medication's dose times")
            if status == DoseStatus.SKIPPED:
                if not reason:
                    raise MedicationError("reason", "say why the dose was skipped")
                taken_at = None
            elif status == DoseStatus.TAKEN_LATE:
                if taken_at is None:
                    raise MedicationError("taken_at", "say when you took it")
                if taken_at < due_at - timedelta(hours=12):
                    raise MedicationError("taken_at", "is more than 12 hours before the dose was due")
            else:
                taken_at = taken_at or now
        return due_at, taken_at, reason

    try:
        due_at, taken_at, reason = checked(due_at, taken_at, reason)
    except MedicationError:
        # A retry of a dose already recorded under this key returns it, even if it would not
        # pass the checks now (e.g. the last as-needed dose of the day).
        existing = DoseLog.objects.filter(patient=patient, idempotency_key=key).first()
        if existing is not None:
            return existing, False
        raise
    try:
        with transaction.atomic():  # the dose and its audit row commit together
            log = DoseLog.objects.create(
                patient=patient,
                regimen=regimen,
                due_at=due_at,
                status=status,
                taken_at=taken_at,
                reason=reason,
                logged_at=now,
                logged_by=acting_user,
                idempotency_key=key,
            )
            audit_patient_event(
                acting_user,
                Action.CREATE,
                "DoseLog",
                log.pk,
                patient,
                request=request,
                role=role,
                regimen=regimen.pk,
                status=status,
            )
    except IntegrityError:
        # A concurrent retry with the same key, or this dose was already recorded another way.
        again = DoseLog.objects.filter(patient=patient, idempotency_key=key).first()
        if again is not None:
            return again, False
        raise MedicationError("due_at", "this dose was already recorded") from None
    return log, True


def describe(version: RegimenVersion) -> str:
    """ "50 mg at 08:00 and 20:00" — what a version prescribes, in words."""
    dose = f"{version.dose_amount.normalize():f} {version.dose_unit}"
    if version.status != RegimenStatus.ACTIVE:
        return f"{version.get_status_display()}"
    if version.schedule_kind == ScheduleKind.AS_NEEDED:
        most = f", at most {version.prn_max_per_day} a day" if version.prn_max_per_day else ""
        return f"{dose} as needed{most}"
    when = " and ".join(version.times)
    every = "" if version.every_days == 1 else f" every {version.every_days} days"
    return f"{dose} at {when}{every}"


@transaction.atomic
def do_start_regimen(
    patient: Patient,
    *,
    drug_key: str,
    drug_name: str,
    drug_classes: list[str],
    dose_amount: Any,
    dose_unit: str = "mg",
    route: str = "oral",
    schedule_kind: str = ScheduleKind.SCHEDULED,
    times: list[str] | None = None,
    every_days: int = 1,
    prn_max_per_day: int | None = None,
    indication: str = "",
    instructions: str = "",
    reason: str,
    acting_user: User,
    role: str = "",
    findings: list[dict[str, Any]] | None = None,
    override_reason: str = "",
    effective_at: datetime | None = None,
    switched_from: Regimen | None = None,
    request: HttpRequest | None = None,
) -> Regimen:
    """Start a regimen; `findings` are the prescribing checks that were shown (see checks.py)."""
    from tandem.medications.schedule import parse_times

    _require_override(findings or [], override_reason)
    effective_at = effective_at or timezone.now()
    times = list(times or [])
    if schedule_kind == ScheduleKind.SCHEDULED:
        if not times:
            raise MedicationError("times", "give at least one time of day")
        try:
            times = [t.strftime("%H:%M") for t in parse_times(times)]
        except ValueError as exc:
            raise MedicationError("times", str(exc)) from None
    regimen = Regimen.objects.create(
        patient=patient,
        drug_key=drug_key,
        drug_name=drug_name[:160],
        drug_classes=drug_classes,
        indication=indication[:200],
        prescriber=acting_user,
        started_at=effective_at,
        switched_from=switched_from,
    )
    version = _new_version(
        regimen,
        kind="start",
        status=RegimenStatus.ACTIVE,
        effective_at=effective_at,
        dose_amount=dose_amount,
        dose_unit=dose_unit,
        route=route,
        schedule_kind=schedule_kind,
        times=times,
        every_days=every_days,
        prn_max_per_day=prn_max_per_day,
        instructions=instructions,
        reason=reason,
        author=acting_user,
        role=role,
        findings=findings or [],
        override_reason=override_reason,
    )
    audit_patient_event(
        acting_user,
        Action.CREATE,
        "MedicationRequest",
        regimen.pk,
        patient,
        request=request,
        role=role,
        drug=drug_key,
        findings=[f.get("rule_id") for f in findings or []],
        override=bool(override_reason),
    )
    from tandem.medications.monitoring import plan_monitoring  # monitoring imports this module

    plan_monitoring(regimen, version)
    return regimen


def _require_override(findings: list[dict[str, Any]], override_reason: str) -> None:
    if any(f.get("requires_override_reason") for f in findings) and not override_reason.strip():
        raise MedicationError("override_reason", "a prescribing check needs your reason to go ahead")


def _new_version(
    regimen: Regimen,
    *,
    kind: str,
    status: str,
    effective_at: datetime,
    reason: str,
    author: User,
    role: str,
    findings: list[dict[str, Any]],
    override_reason: str,
    **prescription: Any,
) -> RegimenVersion:
    if not reason.strip():
        raise MedicationError("reason", "say why")
    version = RegimenVersion.objects.create(
        regimen=regimen,
        number=regimen.version_count + 1,
        kind=kind,
        status=status,
        effective_at=effective_at,
        reason=reason.strip()[:500],
        author=author,
        author_role=role,
        findings=findings,
        override_reason=override_reason.strip()[:500],
        **prescription,
    )
    regimen.version_count = version.number
    fields = ["version_count"]
    if regimen.current_id is None or effective_at <= timezone.now() + PLANNED_AFTER:
        fields += _bring_in_force(regimen, version)
    regimen.save(update_fields=fields)
    return version


# A version effective more than this far ahead is a planned step (a titration or a taper): it
# takes effect by itself at its time, through `advance_regimens`.
PLANNED_AFTER = timedelta(minutes=1)


def _bring_in_force(regimen: Regimen, version: RegimenVersion) -> list[str]:
    regimen.current = version
    regimen.status = version.status
    fields = ["current", "status"]
    if version.status == RegimenStatus.STOPPED:
        regimen.ended_at = version.effective_at
        fields.append("ended_at")
    return fields


def advance_regimens(now: datetime) -> int:
    """Bring planned steps whose time has come into force (the schedule already follows them)."""
    moved = 0
    due = (
        RegimenVersion.objects.filter(effective_at__lte=now, regimen__current__isnull=False)
        .exclude(regimen__current=models.F("pk"))
        .filter(number__gt=models.F("regimen__current__number"))
        .values_list("regimen_id", flat=True)
        .distinct()
    )
    for regimen_id in list(due)[:1000]:
        with transaction.atomic():
            regimen = Regimen.objects.select_for_update(of=("self",)).get(pk=regimen_id)
            version = (
                regimen.versions.filter(effective_at__lte=now).order_by("-effective_at", "-number").first()
            )
            if version is not None and version.pk != regimen.current_id:
                regimen.save(update_fields=_bring_in_force(regimen, version))
                moved += 1
    return moved


PRESCRIPTION_FIELDS = (
    "dose_amount",
    "dose_unit",
    "route",
    "schedule_kind",
    "times",
    "every_days",
    "prn_max_per_day",
    "instructions",
)


@transaction.atomic
def do_change_regimen(
    regimen: Regimen,
    *,
    kind: str,
    reason: str,
    acting_user: User,
    role: str = "",
    findings: list[dict[str, Any]] | None = None,
    override_reason: str = "",
    effective_at: datetime | None = None,
    request: HttpRequest | None = None,
    **changes: Any,
) -> RegimenVersion:
    """Increase, decrease, change times, hold, resume or stop: a new version from `effective_at`."""
    regimen = (
        Regimen.objects.select_for_update(of=("self",))
        .select_related("current", "patient")
        .get(pk=regimen.pk)
    )
    current = regimen.current
    assert current is not None
    if regimen.status == RegimenStatus.STOPPED:
        raise MedicationError("regimen", "this medication was stopped; start it again as a new regimen")
    allowed = {"increase", "decrease", "change", "hold", "resume", "stop", "switch"}
    if kind not in allowed:
        raise MedicationError("kind", f"must be one of {', '.join(sorted(allowed))}")
    if kind == "hold" and regimen.status != RegimenStatus.ACTIVE:
        raise MedicationError("kind", "only an active medication can be put on hold")
    if kind == "resume" and regimen.status != RegimenStatus.HELD:
        raise MedicationError("kind", "only a medication on hold can be resumed")
    _require_override(findings or [], override_reason)
    prescription = {name: getattr(current, name) for name in PRESCRIPTION_FIELDS}
    unknown = set(changes) - set(PRESCRIPTION_FIELDS)
    if unknown:
        raise MedicationError(sorted(unknown)[0], "cannot be changed here")
    prescription.update(changes)
    if "times" in changes and prescription["schedule_kind"] == ScheduleKind.SCHEDULED:
        from tandem.medications.schedule import parse_times

        try:
            prescription["times"] = [t.strftime("%H:%M") for t in parse_times(changes["times"])]
        except ValueError as exc:
            raise MedicationError("times", str(exc)) from None
    if kind in ("increase", "decrease"):
        before, after = current.dose_amount, prescription["dose_amount"]
        if (kind == "increase") != (after > before) or after == before:
            raise MedicationError(
                "dose_amount",
                f"a {kind} must {'raise' if kind == 'increase' else 'lower'} the dose from {before}",
            )
    status = {"hold": RegimenStatus.HELD, "stop": RegimenStatus.STOPPED, "switch": RegimenStatus.STOPPED}.get(
        kind, RegimenStatus.ACTIVE
    )
    effective_at = effective_at or timezone.now()
    # A change made by hand replaces the steps still planned after it (a titration or a taper).
    dropped = list(regimen.versions.filter(effective_at__gt=effective_at).values_list("number", flat=True))
    regimen.versions.filter(effective_at__gt=effective_at).delete()
    version = _new_version(
        regimen,
        kind=kind,
        status=status,
        effective_at=effective_at,
        reason=reason,
        author=acting_user,
        role=role,
        findings=findings or [],
        override_reason=override_reason,
        **prescription,
    )
    audit_patient_event(
        acting_user,
        Action.UPDATE,
        "MedicationRequest",
        regimen.pk,
        regimen.patient,
        request=request,
        role=role,
        change=kind,
        version=version.number,
        override=bool(override_reason),
        planned_steps_dropped=dropped,
    )
    from tandem.medications.monitoring import plan_monitoring

    plan_monitoring(regimen, version)
    return version


@transaction.atomic
def do_plan_steps(
    regimen: Regimen,
    steps: list[Any],
    *,
    reason: str,
    acting_user: User,
    role: str = "",
    request: HttpRequest | None = None,
) -> list[RegimenVersion]:
    """Plan dated dose steps (titration.Step: from_date, daily_dose_mg, instruction) from a
    template; each becomes a version in force from the start of its day in the patient's zone."""
    from datetime import time as clock

    from tandem.lib.timezones import at_local

    regimen = (
        Regimen.objects.select_for_update(of=("self",))
        .select_related("current", "patient")
        .get(pk=regimen.pk)
    )
    current = regimen.current
    if current is None or regimen.status == RegimenStatus.STOPPED:
        raise MedicationError("regimen", "this medication is not active")
    if current.dose_unit != "mg" or current.schedule_kind != ScheduleKind.SCHEDULED:
        raise MedicationError("titration", "steps apply to medicines taken in mg at set times")
    created = []
    previous = float(current.daily_amount)
    tz = regimen.patient.time_zone
    for step in steps:
        every = 2 if "every other day" in step.instruction else 1
        per_dose = step.daily_dose_mg * every / max(1, len(current.times))
        kind = (
            "stop"
            if step.daily_dose_mg == 0
            else ("increase" if step.daily_dose_mg > previous else "decrease")
        )
        if step.daily_dose_mg == previous and every == current.every_days:
            continue
        created.append(
            _new_version(
                regimen,
                kind=kind,
                status=RegimenStatus.STOPPED if kind == "stop" else RegimenStatus.ACTIVE,
                effective_at=at_local(step.from_date, clock(0, 0), tz),
                reason=f"{reason}: {step.instruction}",
                author=acting_user,
                role=role,
                findings=[],
                override_reason="",
                dose_amount=Decimal(str(per_dose)) if kind != "stop" else current.dose_amount,
                dose_unit="mg",
                route=current.route,
                schedule_kind=current.schedule_kind,
                times=current.times,
                every_days=every,
                prn_max_per_day=None,
                instructions=step.instruction,
            )
        )
        previous = step.daily_dose_mg
    audit_patient_event(
        acting_user,
        Action.UPDATE,
        "MedicationRequest",
        regimen.pk,
        regimen.patient,
        request=request,
        role=role,
        change="planned steps",
        versions=[v.number for v in created],
    )
    return created
