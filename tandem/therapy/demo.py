"""Demo sessions: for every Demo Clinic patient with a therapist, a weekly therapy series over the
last 12 weeks (or since they joined) and the next 4, mostly attended, a few cancelled; monthly
medication visits with the prescriber. Jim (the second patient) missed his last two sessions, so
the no-show alert shows; Maya's last session is not recorded yet, so the one-click buttons show,
and she has telehealth sessions with a video link."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from tandem.accounts.models import Role
from tandem.core.seeding import DemoContext
from tandem.lib.timezones import at_local
from tandem.patients.models import CareTeamMember, Patient, active_on
from tandem.therapy.models import Modality, Session, SessionKind, SessionSeries, SessionStatus, Setting
from tandem.therapy.signals import evaluate_patient

PAST_WEEKS = 12
FUTURE_WEEKS = 4
MODALITIES = [Modality.CBT, Modality.BA, Modality.IPT, Modality.CBT, Modality.DBT, Modality.SUPPORTIVE]
PLACE = "Demo Clinic, 200 Harbor St, Room 3"
VIDEO = "https://video.demo.tandem/room/"


def build(ctx: DemoContext) -> None:
    org = ctx.orgs["demo-clinic"]
    if Session.objects.filter(patient__organisation=org).exists():
        return
    rng = random.Random(5151)
    now = timezone.now()
    today = ctx.today
    members = CareTeamMember.objects.filter(
        active_on(today), patient__organisation=org, role__in=[Role.THERAPIST, Role.PRESCRIBER]
    ).select_related("user")
    team: dict[tuple[int, str], CareTeamMember] = {(m.patient_id, m.role): m for m in members}
    patients = list(Patient.objects.filter(organisation=org).order_by("mrn"))
    with transaction.atomic():
        sessions: list[Session] = []
        for i, patient in enumerate(patients):
            therapist = team.get((patient.pk, Role.THERAPIST))
            if therapist is None:
                continue
            sessions += _therapy(i, patient, therapist, rng, now, today)
            prescriber = team.get((patient.pk, Role.PRESCRIBER))
            if prescriber is not None:
                sessions += _medication_visits(i, patient, prescriber, rng, now, today)
        Session.objects.bulk_create(sessions, batch_size=500)
        ctx.count("sessions", len(sessions))
        for patient in patients:
            evaluate_patient(patient, now)


def _outcome(
    rng: random.Random, starts_at: datetime, now: datetime, previous: str
) -> tuple[str, str, datetime | None]:
    if starts_at > now:
        return SessionStatus.SCHEDULED, "", None
    roll = rng.random()
    if roll < 0.07:
        return SessionStatus.CANCELLED, "Patient away, rang a week ahead", starts_at - timedelta(days=6)
    if roll < 0.10:
        return SessionStatus.LATE_CANCELLED, "Patient: unwell", starts_at - timedelta(hours=3)
    if roll < 0.13 and previous != SessionStatus.NO_SHOW:
        return SessionStatus.NO_SHOW, "", starts_at + timedelta(minutes=20)
    return SessionStatus.ATTENDED, "", starts_at + timedelta(minutes=50)


def _therapy(
    i: int, patient: Patient, member: CareTeamMember, rng: random.Random, now: datetime, today: date
) -> list[Session]:
    # One weekly slot per patient (weekday and hour), so that a therapist's demo week has no clashes.
    first_day = max(member.start, today - timedelta(weeks=PAST_WEEKS))
    first_day += timedelta(days=(i % 5 - first_day.weekday()) % 7)
    wall = time(9 + (i // 5) % 8, 0)
    telehealth = i == 0 or i % 6 == 2
    starts = []
    day = first_day
    while day <= today + timedelta(weeks=FUTURE_WEEKS):
        starts.append(at_local(day, wall, patient.tz))
        day += timedelta(weeks=1)
    series = SessionSeries.objects.create(
        patient=patient,
        clinician=member.user,
        kind=SessionKind.THERAPY,
        interval_weeks=1,
        count=len(starts),
        created_by=member.user,
        created_at=starts[0] - timedelta(days=3),
    )
    rows: list[Session] = []
    previous = ""
    past = [s for s in starts if s <= now]
    for n, starts_at in enumerate(starts):
        status, reason, changed = _outcome(rng, starts_at, now, previous)
        if i == 1 and starts_at <= now and len(past) - n <= 2:
            status, reason, changed = SessionStatus.NO_SHOW, "", starts_at + timedelta(minutes=20)
        if i == 0 and past and starts_at == past[-1]:
            status, reason, changed = SessionStatus.SCHEDULED, "", None  # still to be recorded
        if status != SessionStatus.CANCELLED:  # a cancellation in good time neither ends nor continues a run
            previous = status
        rows.append(
            Session(
                patient=patient,
                clinician=member.user,
                kind=SessionKind.THERAPY,
                modality=MODALITIES[i % len(MODALITIES)],
                series=series,
                starts_at=starts_at,
                duration_minutes=50,
                setting=Setting.TELEHEALTH if telehealth else Setting.IN_PERSON,
                place="" if telehealth else PLACE,
                telehealth_url=f"{VIDEO}{1000 + i}" if telehealth else "",
                status=status,
                status_reason=reason,
                status_changed_at=changed,
                status_changed_by=member.user if changed else None,
                created_by=member.user,
                created_at=series.created_at,
            )
        )
    return rows


def _medication_visits(
    i: int, patient: Patient, member: CareTeamMember, rng: random.Random, now: datetime, today: date
) -> list[Session]:
    first_day = max(member.start, today - timedelta(weeks=PAST_WEEKS)) + timedelta(weeks=i % 4)
    first_day += timedelta(days=((i + 2) % 5 - first_day.weekday()) % 7)
    wall = time(8 + (i // 5) % 4, 30 * ((i // 20) % 2))
    rows = []
    day = first_day
    while day <= today + timedelta(weeks=FUTURE_WEEKS):
        starts_at = at_local(day, wall, patient.tz)
        status, reason, changed = _outcome(rng, starts_at, now, "")
        if status == SessionStatus.NO_SHOW:
            status, changed = SessionStatus.ATTENDED, starts_at + timedelta(minutes=30)
        if i == 1 and timedelta(0) < now - starts_at < timedelta(days=15):  # Jim missed this one too
            status, reason, changed = SessionStatus.NO_SHOW, "", starts_at + timedelta(minutes=20)
        rows.append(
            Session(
                patient=patient,
                clinician=member.user,
                kind=SessionKind.MEDICATION,
                starts_at=starts_at,
                duration_minutes=30,
                setting=Setting.IN_PERSON,
                place=PLACE,
                status=status,
                status_reason=reason,
                status_changed_at=changed,
                status_changed_by=member.user if changed else None,
                created_by=member.user,
                created_at=starts_at - timedelta(days=21),
            )
        )
        day += timedelta(weeks=4)
    return rows
