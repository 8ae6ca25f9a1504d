"""Logging, correcting and removing care-team minutes: one transaction each, audited.

A team member logs their own time. They may correct or remove their own entries while the
entry's month is still the patient's current month; after that the month is closed (it may have
been billed), and a correction is a new entry in the current month by whoever is on the team.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Min
from django.http import HttpRequest
from django.utils import timezone

from tandem.accounts.models import User
from tandem.audit.actions import audit_patient_event
from tandem.audit.models import Action
from tandem.caretime.models import MAX_MINUTES, NOTE_MAX, Activity, TimeEntry
from tandem.caretime.report import month_start
from tandem.lib.timezones import local_date
from tandem.patients.models import CareTeamMember, Patient

ENTITY = "CareTime"


class CareTimeError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class TimeInput:
    activity: str
    day: date
    minutes: int
    note: str


def patient_today(patient: Patient) -> date:
    return local_date(timezone.now(), patient.time_zone)


def care_started(patient: Patient) -> date | None:
    """The first day anyone was on the patient's care team."""
    first: date | None = CareTeamMember.objects.filter(patient=patient).aggregate(first=Min("start"))["first"]
    return first


def parse_time_input(patient: Patient, data: dict[str, str]) -> TimeInput:
    """The typed form values checked field by field; CareTimeError names the first bad field."""
    activity = (data.get("activity") or "").strip()
    if activity not in Activity.values:
        raise CareTimeError("activity", "choose the activity")
    raw_minutes = (data.get("minutes") or "").strip()
    try:
        minutes = int(raw_minutes)
    except ValueError:
        raise CareTimeError("minutes", "enter a whole number of minutes, e.g. 25") from None
    if minutes < 0:
        raise CareTimeError("minutes", "minutes cannot be negative")
    if minutes == 0:
        raise CareTimeError("minutes", "enter at least 1 minute")
    if minutes > MAX_MINUTES:
        raise CareTimeError(
            "minutes", f"one entry can hold at most {MAX_MINUTES} minutes; log longer work as several entries"
        )
    raw_day = (data.get("day") or "").strip()
    try:
        day = date.fromisoformat(raw_day)
    except ValueError:
        raise CareTimeError("day", "enter a date like 2025-03-14") from None
    today = patient_today(patient)
    if day > today:
        raise CareTimeError(
            "day", f"the date is in the future (today is {today.isoformat()} for the patient)"
        )
    started = care_started(patient)
    if started is None or day < started:
        when = started.isoformat() if started else "no care-team start"
        raise CareTimeError("day", f"the date is before the patient's care started ({when})")
    note = (data.get("note") or "").strip()
    if len(note) > NOTE_MAX:
        raise CareTimeError("note", f"keep the note under {NOTE_MAX} characters")
    return TimeInput(activity, day, minutes, note)


def may_change(entry: TimeEntry, user: Any, today: date) -> bool:
    """The author, while the entry's month is the patient's current month."""
    return entry.user_id == user.pk and entry.month == month_start(today)


@transaction.atomic
def do_log_time(
    patient: Patient,
    *,
    data: dict[str, str],
    idempotency_key: str = "",
    acting_user: User,
    role: str,
    request: HttpRequest | None = None,
) -> tuple[TimeEntry, bool]:
    """(entry, created): a repeated idempotency key returns the entry it made the first time."""
    key = idempotency_key.strip()[:64]
    if key:
        earlier = TimeEntry.objects.filter(user=acting_user, idempotency_key=key, patient=patient).first()
        if earlier is not None:
            return earlier, False
    typed = parse_time_input(patient, data)
    now = timezone.now()
    try:
        with transaction.atomic():
            entry = TimeEntry.objects.create(
                patient=patient,
                user=acting_user,
                role=role,
                activity=typed.activity,
                day=typed.day,
                month=month_start(typed.day),
                minutes=typed.minutes,
                note=typed.note,
                idempotency_key=key,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:
        # The same key on another patient's form: refuse rather than attach it here.
        raise CareTimeError("idempotency_key", "this form was already used; reload the page") from None
    audit_patient_event(
        acting_user,
        Action.CREATE,
        ENTITY,
        entry.pk,
        patient,
        request=request,
        role=role,
        activity=entry.activity,
        day=entry.day.isoformat(),
        minutes=entry.minutes,
    )
    return entry, True


@transaction.atomic
def do_edit_time(
    entry: TimeEntry,
    *,
    data: dict[str, str],
    acting_user: User,
    role: str,
    request: HttpRequest | None = None,
) -> TimeEntry:
    patient = entry.patient
    today = patient_today(patient)
    if not may_change(entry, acting_user, today):
        raise CareTimeError("entry", "only the author may change an entry, and only within its month")
    typed = parse_time_input(patient, data)
    if month_start(typed.day) != entry.month:
        raise CareTimeError("day", "an entry can be moved within its own month only")
    before = {"activity": entry.activity, "day": entry.day.isoformat(), "minutes": entry.minutes}
    entry.activity, entry.day, entry.minutes, entry.note = (
        typed.activity,
        typed.day,
        typed.minutes,
        typed.note,
    )
    entry.updated_at = timezone.now()
    entry.save(update_fields=["activity", "day", "minutes", "note", "updated_at"])
    audit_patient_event(
        acting_user,
        Action.UPDATE,
        ENTITY,
        entry.pk,
        patient,
        request=request,
        role=role,
        before=before,
        after={"activity": entry.activity, "day": entry.day.isoformat(), "minutes": entry.minutes},
    )
    return entry


@transaction.atomic
def do_delete_time(
    entry: TimeEntry, *, acting_user: User, role: str, request: HttpRequest | None = None
) -> None:
    patient = entry.patient
    if not may_change(entry, acting_user, patient_today(patient)):
        raise CareTimeError("entry", "only the author may remove an entry, and only within its month")
    removed = {"activity": entry.activity, "day": entry.day.isoformat(), "minutes": entry.minutes}
    entry_id = entry.pk
    entry.delete()
    audit_patient_event(
        acting_user, Action.DELETE, ENTITY, entry_id, patient, request=request, role=role, removed=removed
    )
