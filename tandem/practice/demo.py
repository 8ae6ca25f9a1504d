"""Demo skills practice: for Maya (the portal account) a thought record with a draft and two sent
entries (one commented by her therapist), a DBT diary card kept for ten days and a
behavioural-activation schedule; a thought record for two more patients with a therapist."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from tandem.accounts.models import Role, User
from tandem.core.seeding import DemoContext
from tandem.lib.timezones import at_local
from tandem.patients.models import CareTeamMember, Patient
from tandem.practice.actions import do_assign, do_comment, do_save_draft, do_submit_entry, patient_today
from tandem.practice.models import Assignment

THOUGHTS = [
    {
        "situation": "Friday evening, my sister didn't answer my call.",
        "emotions-0-name": "Sad",
        "emotions-0-rating": "75",
        "emotions-1-name": "Lonely",
        "emotions-1-rating": "60",
        "thoughts-0-text": "She doesn't want to talk to me.",
        "thoughts-1-text": "Nobody has time for me.",
        "hot": "1",
        "evidence_for": "She didn't call back the same evening.",
        "evidence_against": "She called on Tuesday and we talked for an hour. She works late on Fridays.",
        "balanced": "She is probably busy; she usually calls back the next day.",
        "belief": "70",
        "emotions-0-after": "40",
        "emotions-1-after": "35",
    },
    {
        "situation": "Meeting at work, my idea was not picked.",
        "emotions-0-name": "Embarrassed",
        "emotions-0-rating": "65",
        "thoughts-0-text": "I always say stupid things.",
        "hot": "0",
        "evidence_for": "Nobody commented on it.",
        "evidence_against": "My manager asked me to write it up for next month.",
        "balanced": "It wasn't chosen this time; that doesn't make it stupid.",
        "belief": "55",
        "emotions-0-after": "30",
    },
]
DRAFT = {
    "situation": "Woke up at 4 a.m. and couldn't get back to sleep.",
    "emotions-0-name": "Worried",
    "emotions-0-rating": "70",
}


def _therapist(patient: Patient) -> User | None:
    member = (
        CareTeamMember.objects.filter(patient=patient, role=Role.THERAPIST, end__isnull=True)
        .select_related("user")
        .first()
    )
    return member.user if member else None


def _at(patient: Patient, day: date, hour: int) -> datetime:
    return at_local(day, time(hour, 0), patient.tz)


def build(ctx: DemoContext) -> None:
    org = ctx.orgs["demo-clinic"]
    if Assignment.objects.filter(patient__organisation=org).exists():
        return
    patients = list(Patient.objects.filter(organisation=org).order_by("mrn")[:3])
    for i, patient in enumerate(patients):
        therapist = _therapist(patient)
        if therapist is None:
            continue
        if i == 0:
            _maya(ctx, patient, therapist)
        else:
            _thought_record(ctx, patient, therapist, entries=THOUGHTS[:1], draft=False)


def _thought_record(
    ctx: DemoContext, patient: Patient, therapist: User, *, entries: list[dict[str, str]], draft: bool
) -> None:
    today = patient_today(patient)
    assignment = do_assign(
        patient,
        template="thought_record",
        frequency="times_per_week",
        times_per_week=3,
        start=today - timedelta(days=13),
        end=today + timedelta(days=28),
        instructions="When you notice a big shift in mood, write it down as soon as you can.",
        acting_user=therapist,
        role=Role.THERAPIST,
    )
    ctx.count("practice assignments")
    for k, raw in enumerate(entries):
        day = today - timedelta(days=9 - 4 * k)
        result = do_submit_entry(
            assignment,
            raw=raw,
            key=f"demo-tr-{patient.pk}-{k}",
            acting_user=patient.portal_user or therapist,
            now=_at(patient, day, 20),
        )
        assert result.entry is not None and not result.errors, result.errors
        ctx.count("practice entries")
        if k == 0:
            do_comment(
                result.entry,
                text="Great catch of the hot thought. Next time, try writing the evidence against first.",
                acting_user=therapist,
                role=Role.THERAPIST,
                now=_at(patient, day + timedelta(days=1), 10),
            )
    if draft:
        do_save_draft(
            assignment,
            raw=DRAFT,
            version=3,
            key=f"demo-tr-{patient.pk}-draft",
            acting_user=patient.portal_user or therapist,
            now=_at(patient, today, 7),
        )
        ctx.count("practice drafts")


def _maya(ctx: DemoContext, patient: Patient, therapist: User) -> None:
    _thought_record(ctx, patient, therapist, entries=THOUGHTS, draft=True)
    today = patient_today(patient)
    user = patient.portal_user or therapist
    diary = do_assign(
        patient,
        template="diary_card",
        frequency="daily",
        start=today - timedelta(days=11),
        instructions="Fill in your card every evening, even on good days.",
        acting_user=therapist,
        role=Role.THERAPIST,
    )
    ctx.count("practice assignments")
    for back in range(10, 0, -1):
        day = today - timedelta(days=back)
        if back in (7, 3):
            continue  # two days missed
        good = back < 5
        raw = {
            "day": day.isoformat(),
            "urge_self_harm": str(0 if good else 2),
            "acted_self_harm": "no",
            "urge_suicide": "0" if good or back % 2 else "1",
            "acted_suicide": "no",
            "urge_substance": str(1 if back % 3 else 2),
            "acted_substance": "no",
            "emo_emotional_misery": str(2 if good else 3),
            "emo_physical_misery": "1",
            "emo_joy": str(2 if good else 1),
            "emo_sadness": str(2 if good else 3),
            "emo_anger": "1",
            "emo_fear": str(1 if good else 2),
            "emo_shame": "1",
            "skills": str(5 if good else 3),
            "medication": "as_prescribed" if back != 6 else "partly",
            "notes": "Used opposite action and went for a walk." if back == 2 else "",
        }
        do_submit_entry(
            diary, raw=raw, key=f"demo-dc-{patient.pk}-{back}", acting_user=user, now=_at(patient, day, 21)
        )
        ctx.count("practice entries")
    schedule = do_assign(
        patient,
        template="activity_schedule",
        frequency="weekly",
        start=today - timedelta(days=8),
        end=today + timedelta(days=20),
        instructions="Plan one small thing each day; rate mastery and pleasure after.",
        acting_user=therapist,
        role=Role.THERAPIST,
    )
    ctx.count("practice assignments")
    activities = [
        ("Mon 8:00", "Walk to the park", "yes", "6", "7"),
        ("Tue 18:00", "Cook dinner", "yes", "7", "5"),
        ("Wed 12:00", "Call Ana", "no", "", ""),
        ("Thu 19:00", "Tidy the desk", "yes", "8", "3"),
        ("Sat 10:00", "Swim", "yes", "5", "8"),
    ]
    raw = {}
    for n, (when, what, done, mastery, pleasure) in enumerate(activities):
        raw.update(
            {
                f"activities-{n}-when": when,
                f"activities-{n}-activity": what,
                f"activities-{n}-done": done,
                f"activities-{n}-mastery": mastery,
                f"activities-{n}-pleasure": pleasure,
            }
        )
    raw["notes"] = "Mornings are easier than evenings."
    do_submit_entry(
        schedule,
        raw={k: v for k, v in raw.items() if v},
        key=f"demo-ba-{patient.pk}-1",
        acting_user=user,
        now=_at(patient, today - timedelta(days=1), 20),
    )
    ctx.count("practice entries")
