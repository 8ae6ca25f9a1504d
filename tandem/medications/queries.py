"""Database reads shared by views, actions and jobs: schedules, today's doses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

from tandem.accounts.models import Role
from tandem.lib.timezones import local_date
from tandem.medications.models import DoseLog, Regimen, RegimenStatus, RegimenVersion, ScheduleKind
from tandem.medications.schedule import DueDose, VersionSpan, due_doses, parse_times
from tandem.patients.models import CareTeamMember, Patient, active_on


def spans(versions: list[RegimenVersion], tz: str, anchors: dict[int, date]) -> list[VersionSpan]:
    return [
        VersionSpan(
            regimen_id=v.regimen_id,
            version_id=v.pk,
            effective_at=v.effective_at,
            active=v.status == RegimenStatus.ACTIVE,
            scheduled=v.schedule_kind == ScheduleKind.SCHEDULED,
            times=parse_times(v.times),
            every_days=v.every_days,
            anchor=anchors[v.regimen_id],
        )
        for v in versions
    ]


def patient_due_doses(
    patient: Patient, first_day: date, last_day: date, regimen_ids: list[int] | None = None
) -> list[DueDose]:
    """The patient's scheduled doses over local days (two queries)."""
    regimens = Regimen.objects.filter(patient=patient)
    if regimen_ids is not None:
        regimens = regimens.filter(pk__in=regimen_ids)
    anchors = {
        pk: local_date(started, patient.time_zone) for pk, started in regimens.values_list("pk", "started_at")
    }
    versions = list(
        RegimenVersion.objects.filter(regimen_id__in=anchors).order_by("regimen_id", "effective_at")
    )
    return due_doses(spans(versions, patient.time_zone, anchors), patient.time_zone, first_day, last_day)


@dataclass
class DoseRow:
    regimen: Regimen
    due_at: datetime
    log: DoseLog | None
    version: RegimenVersion


def doses_for_day(patient: Patient, day: date) -> list[DoseRow]:
    """Today's list in the portal: each scheduled dose with what was logged for it (four queries)."""
    regimens = {r.pk: r for r in Regimen.objects.filter(patient=patient)}
    anchors = {pk: local_date(r.started_at, patient.time_zone) for pk, r in regimens.items()}
    versions = list(
        RegimenVersion.objects.filter(regimen_id__in=anchors).order_by("regimen_id", "effective_at")
    )
    by_id = {v.pk: v for v in versions}
    due = due_doses(spans(versions, patient.time_zone, anchors), patient.time_zone, day, day)
    logs = {
        (log.regimen_id, log.due_at): log
        for log in DoseLog.objects.filter(patient=patient, due_at__in=[d.due_at for d in due])
    }
    return [
        DoseRow(regimens[d.regimen_id], d.due_at, logs.get((d.regimen_id, d.due_at)), by_id[d.version_id])
        for d in due
    ]


def prescriber_names(patient: Patient) -> list[str]:
    """The prescribers on the patient's team today: the people the report's alert reaches."""
    members = CareTeamMember.objects.filter(
        active_on(timezone.localdate()), patient=patient, role=Role.PRESCRIBER
    ).select_related("user")
    return sorted({m.user.display_name for m in members if m.user.is_active})
