from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from tandem.accounts.models import Notification
from tandem.audit.models import AuditEvent
from tandem.core import jobs
from tandem.core.tests.test_worker import demo_env, migrated_template  # noqa: F401 (fixtures)
from tandem.lib.testing import make_patient, make_user
from tandem.therapy.actions import do_move_session, do_patient_cancel_session, do_set_session_status
from tandem.therapy.models import ReminderStatus, Session, SessionReminder
from tandem.therapy.reminders import (
    CANCELLED,
    LOST,
    SENT,
    claim_one,
    deliver_due,
    plan_reminders,
    reminder_text,
    send,
    take,
)

pytestmark = pytest.mark.django_db


def local(zone: str, y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=ZoneInfo(zone))


def session_at(personas, starts_at: datetime, patient=None, **extra) -> Session:
    return Session.objects.create(
        patient=patient or personas.patient,
        clinician=personas.therapist,
        kind="therapy",
        starts_at=starts_at,
        place="Room 7, 12 Elm St",
        **extra,
    )


def rows(session=None):
    qs = SessionReminder.objects.order_by("due_at", "pk")
    return list(qs.filter(session=session) if session else qs)


def patient_in(personas, zone: str, n: int = 1):
    user = make_user(f"zone{n}@example.test", f"Zoe Zone{n}")
    return make_patient(personas.home, f"TZ-{n}", "Zoe", f"Zone{n}", time_zone=zone, portal_user=user)


# Planning -----------------------------------------------------------------------------------


def test_a_session_gets_a_reminder_the_day_before_and_two_hours_before(personas):
    chicago = "America/Chicago"
    session = session_at(personas, local(chicago, 2026, 6, 10, 14, 0))
    result = plan_reminders(local(chicago, 2026, 6, 9, 13, 0), horizon=timedelta(hours=26))
    assert result.created == 2
    assert [(r.lead, r.due_at) for r in rows(session)] == [
        ("day_before", local(chicago, 2026, 6, 9, 14, 0)),
        ("hours_before", local(chicago, 2026, 6, 10, 12, 0)),
    ]
    assert plan_reminders(local(chicago, 2026, 6, 9, 13, 0), horizon=timedelta(hours=26)).created == 0


DST_DAYS = [
    # Sessions on the day of each clock change: the day before is 23 or 25 hours earlier.
    ("America/New_York", date(2026, 3, 8)),  # EST → EDT
    ("America/New_York", date(2026, 11, 1)),  # EDT → EST
    ("Europe/London", date(2026, 3, 29)),  # GMT → BST
    ("Europe/London", date(2026, 10, 25)),  # BST → GMT
    ("Australia/Sydney", date(2026, 4, 5)),  # AEDT → AEST
    ("Australia/Sydney", date(2026, 10, 4)),  # AEST → AEDT
]


@pytest.mark.parametrize(("zone", "day"), DST_DAYS)
def test_the_day_before_reminder_is_at_the_same_local_time_across_a_clock_change(personas, zone, day):
    patient = patient_in(personas, zone)
    tz = ZoneInfo(zone)
    starts_at = datetime.combine(day, time(14, 0), tzinfo=tz)
    session = session_at(personas, starts_at, patient=patient)
    # Plan as the worker does, every six hours with the default one-day horizon.
    now = starts_at - timedelta(days=2)
    while now < starts_at:
        plan_reminders(now)
        now += timedelta(hours=6)
    planned = rows(session)
    assert [r.lead for r in planned] == ["day_before", "hours_before"]
    day_before = planned[0].due_at.astimezone(tz)
    assert (day_before.date(), day_before.time()) == (day - timedelta(days=1), time(14, 0))
    assert starts_at - planned[0].due_at != timedelta(hours=24)  # 23 or 25 real hours
    assert planned[1].due_at.astimezone(tz).time() == time(12, 0)


def test_only_scheduled_sessions_of_patients_with_a_portal_account_get_reminders(personas):
    chicago = "America/Chicago"
    no_portal = make_patient(personas.home, "RC-9", "Nora", "Noportal")
    session_at(personas, local(chicago, 2026, 6, 10, 14, 0), patient=no_portal)
    session_at(personas, local(chicago, 2026, 6, 10, 15, 0), status="cancelled")
    plan_reminders(local(chicago, 2026, 6, 10, 7, 0))
    assert rows() == []


def test_a_moved_session_gets_new_reminders_and_the_old_ones_are_cancelled(personas):
    chicago = "America/Chicago"
    session = session_at(personas, local(chicago, 2026, 6, 10, 14, 0))
    now = local(chicago, 2026, 6, 10, 9, 0)
    plan_reminders(now)
    [old] = rows(session)
    do_move_session(session, day=date(2026, 6, 10), wall=time(16, 0), acting_user=personas.therapist, now=now)
    result = plan_reminders(now)
    assert (result.cancelled, result.created) == (1, 1)
    old.refresh_from_db()
    assert old.status == ReminderStatus.CANCELLED
    [new] = rows(session)[1:]
    assert new.due_at == local(chicago, 2026, 6, 10, 14, 0) and new.status == ReminderStatus.PENDING


# Sending ------------------------------------------------------------------------------------


@pytest.fixture
def due_reminder(personas):
    """Pat's session at 14:00 (Chicago) on 10 June; it is 14:00:30 on the 9th."""
    chicago = "America/Chicago"
    session = session_at(personas, local(chicago, 2026, 6, 10, 14, 0))
    plan_reminders(local(chicago, 2026, 6, 9, 13, 0), horizon=timedelta(hours=2))
    [reminder] = rows(session)
    return (
        session,
        reminder,
        local(
            chicago,
            2026,
            6,
            9,
            14,
            0,
        )
        + timedelta(seconds=30),
    )


def test_a_due_reminder_notifies_in_the_app_and_by_email_without_name_or_place(
    personas, due_reminder, mailoutbox, django_capture_on_commit_callbacks
):
    _session, reminder, now = due_reminder
    with django_capture_on_commit_callbacks(execute=True):
        result = deliver_due("worker-a", now)
    assert (result.sent, result.cancelled, result.lost) == (1, 0, 0)
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.SENT and reminder.sent_at == now
    text = "You have an appointment tomorrow at 14:00 — details in Tandem."
    note = Notification.objects.get(user=personas.patient_user)
    assert (note.text, note.link) == (text, "/portal/appointments/")
    [email] = mailoutbox
    assert email.to == ["pat@example.test"] and email.subject == "Appointment reminder"
    assert email.body == f"{text}\n\n{settings.SITE_URL}/portal/appointments/\n"
    for private in ("Theo", "Therapist", "Room 7", "Elm", "therapy", "Pat", "RC-1"):
        assert private not in email.subject + email.body
    event = AuditEvent.objects.get(entity_type="SessionReminder")
    assert (event.actor_id, event.actor_label) == (None, "session reminders")
    assert deliver_due("worker-a", now).claimed == 0


def test_the_words_say_today_tomorrow_or_the_day(personas):
    tz = ZoneInfo("Europe/London")
    now = datetime(2026, 6, 9, 10, 0, tzinfo=tz)
    assert reminder_text(datetime(2026, 6, 9, 12, 0, tzinfo=tz), now, tz).startswith(
        "You have an appointment today at 12:00"
    )
    assert "tomorrow at 09:05" in reminder_text(datetime(2026, 6, 10, 9, 5, tzinfo=tz), now, tz)
    assert "on Friday 12 June at 09:00" in reminder_text(datetime(2026, 6, 12, 9, 0, tzinfo=tz), now, tz)


def test_a_session_cancelled_after_planning_sends_nothing(personas, due_reminder):
    session, reminder, now = due_reminder
    do_patient_cancel_session(
        session, reason="Sick", acting_user=personas.patient_user, now=now - timedelta(minutes=5)
    )
    claimed = claim_one("worker-a", now)
    assert claimed is not None and claimed.pk == reminder.pk
    assert send(claimed, now=now) == CANCELLED
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.CANCELLED
    assert not Notification.objects.filter(user=personas.patient_user).exists()


def test_a_session_moved_after_planning_sends_nothing_for_the_old_time(personas, due_reminder):
    session, _, now = due_reminder
    Session.objects.filter(pk=session.pk).update(starts_at=session.starts_at + timedelta(hours=3))
    assert deliver_due("worker-a", now).cancelled == 1
    assert not Notification.objects.exists()


def test_a_patient_without_portal_access_any_more_gets_nothing(personas, due_reminder):
    _, _, now = due_reminder
    personas.patient_user.is_active = False
    personas.patient_user.save(update_fields=["is_active"])
    assert deliver_due("worker-a", now).cancelled == 1
    assert not Notification.objects.exists()


def test_a_reminder_more_than_an_hour_late_is_dropped(personas, due_reminder):
    _, reminder, _now = due_reminder
    later = reminder.due_at + timedelta(hours=2)
    assert claim_one("worker-a", later) is None
    plan_reminders(later)
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.CANCELLED


def test_attended_early_sends_no_two_hour_reminder(personas):
    chicago = "America/Chicago"
    session = session_at(personas, local(chicago, 2026, 6, 10, 14, 0))
    plan_reminders(local(chicago, 2026, 6, 10, 11, 30))
    do_set_session_status(session, "cancelled", reason="Clinic closed", acting_user=personas.therapist)
    assert deliver_due("worker-a", local(chicago, 2026, 6, 10, 12, 0)).cancelled == 1


# Claiming -----------------------------------------------------------------------------------


def test_a_row_claimed_by_one_worker_is_not_claimed_by_another(personas, due_reminder):
    _, reminder, now = due_reminder
    a = claim_one("worker-a", now)
    assert a is not None and a.pk == reminder.pk and a.claimed_by == "worker-a"
    assert claim_one("worker-b", now) is None


def test_two_workers_that_read_the_same_row_cannot_both_take_it(personas, due_reminder):
    _, reminder, now = due_reminder
    assert take(reminder.pk, None, "worker-a", now) is True
    assert take(reminder.pk, None, "worker-b", now) is False
    reminder.refresh_from_db()
    assert reminder.claimed_by == "worker-a"


def test_two_interleaving_workers_claim_each_of_ten_rows_exactly_once(personas):
    chicago = "America/Chicago"
    for i in range(10):
        session_at(personas, local(chicago, 2026, 6, 10, 14, 0) + timedelta(minutes=i))
    plan_reminders(local(chicago, 2026, 6, 10, 11, 0), horizon=timedelta(hours=2))
    now = local(chicago, 2026, 6, 10, 12, 30)
    claims: dict[str, list[int]] = {"worker-a": [], "worker-b": []}
    while True:
        got = [(w, claim_one(w, now)) for w in claims]
        for worker, reminder in got:
            if reminder is not None:
                claims[worker].append(reminder.pk)
        if all(r is None for _, r in got):
            break
    everything = claims["worker-a"] + claims["worker-b"]
    assert len(everything) == 10 and len(set(everything)) == 10
    assert len(claims["worker-a"]) == len(claims["worker-b"]) == 5


def test_a_stale_claim_is_taken_over_and_the_slow_worker_sends_nothing(
    personas, due_reminder, mailoutbox, django_capture_on_commit_callbacks
):
    _, reminder, now = due_reminder
    slow = claim_one("worker-a", now)
    assert slow is not None
    assert claim_one("worker-b", now + timedelta(minutes=4)) is None
    later = now + timedelta(minutes=6)
    taken_over = claim_one("worker-b", later)
    assert taken_over is not None and taken_over.pk == reminder.pk
    with django_capture_on_commit_callbacks(execute=True):
        assert send(slow, now=later) == LOST
        assert send(taken_over, now=later) == SENT
        assert send(taken_over, now=later) == LOST
    assert Notification.objects.filter(user=personas.patient_user).count() == 1
    assert len(mailoutbox) == 1


def test_the_jobs_are_registered():
    names = [job.name for job in jobs.registered()]
    assert "therapy.plan_reminders" in names and "therapy.deliver_reminders" in names


SETUP = """
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
from django.db import transaction
from tandem.accounts.models import Organisation, User
from tandem.lib.testing import make_patient
from tandem.therapy.models import Session
from tandem.therapy.reminders import plan_reminders
starts = datetime(2026, 6, 10, 14, 0, tzinfo=ZoneInfo("America/Chicago"))
with transaction.atomic():
    org = Organisation.objects.create(name="Clinic", slug="clinic")
    therapist = User.objects.create(email="t@x.test", full_name="T")
    for i in range({patients}):
        user = User.objects.create(email=f"w{{i}}@x.test", full_name="W")
        patient = make_patient(org, f"W-{{i}}", "W", f"P{{i}}", portal_user=user)
        Session.objects.create(patient=patient, clinician=therapist, starts_at=starts + timedelta(minutes=i))
print(plan_reminders(starts - timedelta(hours=2, minutes=30), horizon=timedelta(hours=2)).created)
"""

DELIVER = """
import os, time
from datetime import datetime
from zoneinfo import ZoneInfo
from tandem.therapy.reminders import deliver_due
print("ready", flush=True)
while not os.path.exists("{go}"):
    time.sleep(0.002)
result = deliver_due("{name}", datetime(2026, 6, 10, 12, 59, tzinfo=ZoneInfo("America/Chicago")), limit=1000)
print(result.sent, result.cancelled, result.lost, result.failed)
"""

COUNT = """
from django_tasks_db.models import DBTaskResult
from tandem.accounts.models import Notification
from tandem.therapy.models import SessionReminder
print(SessionReminder.objects.filter(status="sent").count(), Notification.objects.count(), DBTaskResult.objects.count())
"""


@pytest.mark.django_db(transaction=False)
def test_two_worker_processes_on_one_database_send_each_reminder_once(request, tmp_path):
    """Real contention: two processes on one file database claim the two-hour reminders of 40
    patients' sessions: 40 reminders, none twice, none missed."""
    env = request.getfixturevalue("demo_env")
    tandem = [sys.executable, "-m", "tandem", "shell", "-v", "0", "-c"]
    setup = subprocess.run(
        [*tandem, SETUP.format(patients=40)], env=env, capture_output=True, text=True, timeout=120
    )
    assert setup.stdout.split() == ["40"], setup.stderr
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [*tandem, DELIVER.format(go=go, name=name)], env=env, stdout=subprocess.PIPE, text=True
        )
        for name in ("worker-a", "worker-b")
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline() == "ready\n"
    go.touch()
    outputs = [worker.communicate(timeout=120)[0].split() for worker in workers]
    sent, failed = sum(int(out[0]) for out in outputs), sum(int(out[3]) for out in outputs)
    assert (sent, failed) == (40, 0), outputs
    count = subprocess.run([*tandem, COUNT], env=env, capture_output=True, text=True, timeout=60)
    assert count.stdout.split() == ["40", "40", "40"], count.stderr
