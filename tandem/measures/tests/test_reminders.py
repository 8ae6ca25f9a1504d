"""Questionnaire reminders: when they are planned, that they go out once, and what they say."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from tandem.accounts.models import Notification
from tandem.audit.models import AuditEvent
from tandem.core import jobs
from tandem.lib.testing import make_patient, make_user
from tandem.measures.actions import do_record_response
from tandem.measures.models import (
    QuestionnaireReminder,
    QuestionnaireReminderPreference,
    ReminderKind,
    ReminderStatus,
)
from tandem.measures.reminders import (
    CANCELLED,
    LOST,
    POSTPONED,
    SENT,
    claim_one,
    deliver_due,
    first_reminder_at,
    follow_up_at,
    next_send_time,
    plan_reminders,
    send,
    take,
)
from tandem.measures.tests.helpers import answers
from tandem.plans import actions as plan_actions

pytestmark = pytest.mark.django_db
CHICAGO = "America/Chicago"  # the personas' patient lives there
PRIVATE = ("PHQ", "phq", "GAD", "gad", "depress", "Depress", "mood", "anxi", "Pat", "RC-1", "Rita")


def local(zone: str, y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=ZoneInfo(zone))


def at_day(zone: str, day: date, hh: int, mm: int = 0) -> datetime:
    return local(zone, day.year, day.month, day.day, hh, mm)


def plan(patient, prescriber, monitoring):
    created = plan_actions.do_create_plan(patient, acting_user=prescriber, content={"monitoring": monitoring})
    plan_actions.do_set_plan_status(created, "active", acting_user=prescriber)
    return created


def give(patient, user, instrument, values, when):
    return do_record_response(
        patient,
        instrument=instrument,
        answers=answers(instrument, values),
        administered_by="patient",
        source="portal",
        idempotency_key=f"{instrument}-{patient.pk}-{when.isoformat()}",
        acting_user=user,
        authored_at=when,
        now=when,
    ).response


def patient_in(personas, zone: str, n: int = 1):
    user = make_user(f"zone{n}@example.test", f"Zoe Zone{n}")
    return make_patient(personas.home, f"TZ-{n}", "Zoe", f"Zone{n}", time_zone=zone, portal_user=user)


def rows(patient, **filters):
    return list(QuestionnaireReminder.objects.filter(patient=patient, **filters).order_by("due_at", "pk"))


def utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


EVERY_14 = [{"instrument": "phq9", "every_days": 14}]


@pytest.fixture
def phq9_due_today(personas):
    """Pat (Chicago) answers the PHQ-9 every 14 days; the last one was on 1 June, so it is due
    on 15 June."""
    plan(personas.patient, personas.prescriber, EVERY_14)
    give(personas.patient, personas.patient_user, "phq-9", [1] * 9, local(CHICAGO, 2026, 6, 1, 12))
    return local(CHICAGO, 2026, 6, 15)


# When -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hh", "mm", "expected"),
    [
        (7, 59, (15, 10, 0)),  # before waking hours: 10:00 today
        (8, 0, None),  # waking hours begin: at once
        (19, 59, None),
        (20, 0, (16, 10, 0)),  # waking hours are over: 10:00 tomorrow
        (23, 59, (16, 10, 0)),
        (0, 0, (15, 10, 0)),
    ],
)
def test_something_due_now_goes_out_at_once_in_waking_hours_else_at_the_next_1000(hh, mm, expected):
    now = local(CHICAGO, 2026, 6, 15, hh, mm)
    got = first_reminder_at(now, CHICAGO, due_on=date(2026, 6, 15), scheduled=False)
    assert got == (now if expected is None else local(CHICAGO, 2026, 6, *expected))


@pytest.mark.parametrize(
    ("hh", "mm", "expected"),
    [
        (0, 5, (10, 0)),  # found just after midnight on its due day: 10:00
        (9, 59, (10, 0)),
        (10, 0, None),  # found at 10:00 or later (the worker was down): at once
        (19, 59, None),
        (20, 0, "tomorrow"),
    ],
)
def test_a_scheduled_instrument_is_reminded_at_1000_on_its_due_day(hh, mm, expected):
    now = local(CHICAGO, 2026, 6, 15, hh, mm)
    got = first_reminder_at(now, CHICAGO, due_on=date(2026, 6, 15), scheduled=True)
    if expected is None:
        assert got == now
    elif expected == "tomorrow":
        assert got == local(CHICAGO, 2026, 6, 16, 10)
    else:
        assert got == local(CHICAGO, 2026, 6, 15, *expected)


DST_CHANGES = [
    # zone, change day, first reminder (UTC), follow-up three days later (UTC)
    ("America/New_York", date(2026, 3, 8), "2026-03-07T15:00", "2026-03-10T14:00"),  # EST → EDT
    ("America/New_York", date(2026, 11, 1), "2026-10-31T14:00", "2026-11-03T15:00"),  # EDT → EST
    ("Europe/London", date(2026, 3, 29), "2026-03-28T10:00", "2026-03-31T09:00"),  # GMT → BST
    ("Europe/London", date(2026, 10, 25), "2026-10-24T09:00", "2026-10-27T10:00"),  # BST → GMT
    ("Australia/Sydney", date(2026, 4, 5), "2026-04-03T23:00", "2026-04-07T00:00"),  # AEDT → AEST
    ("Australia/Sydney", date(2026, 10, 4), "2026-10-03T00:00", "2026-10-05T23:00"),  # AEST → AEDT
]


@pytest.mark.parametrize(("zone", "change_day", "first_utc", "follow_up_utc"), DST_CHANGES)
def test_first_and_follow_up_are_at_1000_local_across_a_clock_change(
    personas, zone, change_day, first_utc, follow_up_utc
):
    patient = patient_in(personas, zone)
    plan(patient, personas.prescriber, EVERY_14)
    due_day = change_day - timedelta(days=1)
    give(patient, patient.portal_user, "phq-9", [1] * 9, at_day(zone, due_day - timedelta(days=14), 12))
    # The evening before it is not due yet; just after midnight on its due day it is planned.
    assert plan_reminders(at_day(zone, due_day - timedelta(days=1), 21)).created == 0
    assert plan_reminders(at_day(zone, due_day, 0, 5)).created == 1
    [first] = rows(patient)
    assert (utc(first.due_at), first.kind, first.due_on) == (first_utc, ReminderKind.FIRST, due_day)
    assert deliver_due("worker-a", first.due_at + timedelta(seconds=30)).sent == 1
    plan_reminders(first.due_at + timedelta(minutes=10))
    [follow_up] = rows(patient, kind=ReminderKind.FOLLOW_UP)
    assert utc(follow_up.due_at) == follow_up_utc
    tz = ZoneInfo(zone)
    assert follow_up.due_at.astimezone(tz).time() == time(10, 0)
    assert follow_up.due_at.astimezone(tz).date() == due_day + timedelta(days=3)
    assert follow_up.due_at - first.due_at != timedelta(days=3)  # 71 or 73 hours: the clocks moved


@pytest.mark.parametrize(("zone", "change_day", "_first", "_follow"), DST_CHANGES)
def test_waking_hours_are_local_on_the_day_the_clocks_change(zone, change_day, _first, _follow):
    ten = at_day(zone, change_day, 10)
    assert next_send_time(at_day(zone, change_day, 7, 59), zone) == ten
    assert next_send_time(at_day(zone, change_day, 8, 0), zone) == at_day(zone, change_day, 8, 0)
    assert next_send_time(at_day(zone, change_day, 19, 59), zone) == at_day(zone, change_day, 19, 59)
    assert next_send_time(at_day(zone, change_day, 20, 0), zone) == at_day(
        zone, change_day + timedelta(days=1), 10
    )
    assert follow_up_at(ten, zone).astimezone(ZoneInfo(zone)).time() == time(10, 0)


# Planning -------------------------------------------------------------------------------------


def test_planning_twice_or_in_two_workers_changes_nothing(personas, phq9_due_today):
    now = phq9_due_today + timedelta(minutes=5)
    assert plan_reminders(now).created == 1
    assert plan_reminders(now).created == 0
    assert plan_reminders(now + timedelta(hours=2)).created == 0  # still one episode
    [row] = rows(personas.patient)
    assert row.due_at == local(CHICAGO, 2026, 6, 15, 10)


def test_nothing_is_planned_before_the_due_day_or_without_a_portal_account(personas, phq9_due_today):
    assert plan_reminders(phq9_due_today - timedelta(minutes=1)).created == 0
    no_portal = make_patient(personas.home, "RC-9", "Nora", "Noportal")
    plan(no_portal, personas.prescriber, EVERY_14)  # due at once: never answered
    plan_reminders(phq9_due_today + timedelta(hours=12))
    assert rows(no_portal) == []


def test_a_first_administration_is_reminded_at_once_in_waking_hours(personas):
    plan(personas.patient, personas.prescriber, [*EVERY_14, {"instrument": "gad7", "every_days": 14}])
    now = local(CHICAGO, 2026, 6, 15, 14, 0)
    assert plan_reminders(now).created == 2
    assert {(r.instrument, r.episode, r.due_at) for r in rows(personas.patient)} == {
        ("phq-9", "first", now),
        ("gad-7", "first", now),
    }


def test_a_positive_phq2_makes_a_phq9_reminder_at_once_or_at_the_next_1000(personas):
    evening = local(CHICAGO, 2026, 6, 15, 20, 30)
    give(personas.patient, personas.patient_user, "phq-2", [2, 1], evening)  # 3: positive
    plan_reminders(evening + timedelta(minutes=10))
    [row] = rows(personas.patient)
    assert (row.instrument, row.due_at) == ("phq-9", local(CHICAGO, 2026, 6, 16, 10))
    negative = patient_in(personas, CHICAGO, 2)
    give(negative, negative.portal_user, "phq-2", [1, 1], evening)  # 2: negative
    plan_reminders(evening + timedelta(minutes=10))
    assert rows(negative) == []


def test_an_instrument_given_in_session_is_not_reminded(personas):
    plan(personas.patient, personas.prescriber, [{"instrument": "cssrs", "every_days": 30}])
    assert plan_reminders(local(CHICAGO, 2026, 6, 15, 14)).created == 0


def test_one_follow_up_after_three_days_and_nothing_more(personas, phq9_due_today, mailoutbox):
    now = phq9_due_today
    for _ in range(12 * 24 * 2):  # twelve days of the worker: plan and deliver every 30 minutes
        plan_reminders(now)
        deliver_due("worker-a", now)
        now += timedelta(minutes=30)
    sent = rows(personas.patient, status=ReminderStatus.SENT)
    assert [(r.kind, r.sent_at) for r in sent] == [
        (ReminderKind.FIRST, local(CHICAGO, 2026, 6, 15, 10)),
        (ReminderKind.FOLLOW_UP, local(CHICAGO, 2026, 6, 18, 10)),
    ]
    assert len(rows(personas.patient)) == 2
    assert Notification.objects.filter(user=personas.patient_user).count() == 2


# Sending --------------------------------------------------------------------------------------


@pytest.fixture
def due_reminder(personas, phq9_due_today):
    plan_reminders(phq9_due_today + timedelta(minutes=5))
    [reminder] = rows(personas.patient)
    return reminder, reminder.due_at + timedelta(seconds=30)


def test_a_due_reminder_notifies_in_the_app_and_by_email_without_naming_the_questionnaire(
    personas, due_reminder, mailoutbox, django_capture_on_commit_callbacks
):
    reminder, now = due_reminder
    with django_capture_on_commit_callbacks(execute=True):
        result = deliver_due("worker-a", now)
    assert (result.sent, result.cancelled, result.lost) == (1, 0, 0)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.sent_at, reminder.emailed) == (ReminderStatus.SENT, now, True)
    note = Notification.objects.get(user=personas.patient_user)
    assert note.text == "You have a short questionnaire to answer in Tandem."
    assert note.link == "/portal/measures/"
    [email] = mailoutbox
    assert email.to == ["pat@example.test"]
    assert email.subject == "A short questionnaire in Tandem"
    assert email.body == (
        f"You have a short questionnaire to answer in Tandem.\n\n{settings.SITE_URL}/portal/measures/\n"
    )
    for private in PRIVATE:
        assert private not in email.subject + email.body + note.text
    event = AuditEvent.objects.get(entity_type="QuestionnaireReminder")
    assert (event.actor_id, event.actor_label, event.patient_id) == (
        None,
        "questionnaire reminders",
        personas.patient.pk,
    )
    assert deliver_due("worker-a", now).claimed == 0  # nothing is due any more


def test_two_instruments_due_together_make_one_message_that_names_neither(
    personas, mailoutbox, django_capture_on_commit_callbacks
):
    plan(personas.patient, personas.prescriber, [*EVERY_14, {"instrument": "gad7", "every_days": 14}])
    now = local(CHICAGO, 2026, 6, 15, 14, 0)
    plan_reminders(now)
    with django_capture_on_commit_callbacks(execute=True):
        result = deliver_due("worker-a", now)
    assert result.sent == 1
    assert [r.status for r in rows(personas.patient)] == [ReminderStatus.SENT] * 2
    [email] = mailoutbox
    assert email.body.startswith("You have some short questionnaires to answer in Tandem.")
    for private in PRIVATE:
        assert private not in email.subject + email.body


def test_the_follow_up_is_gentle_and_names_nothing(
    personas, due_reminder, mailoutbox, django_capture_on_commit_callbacks
):
    _, now = due_reminder
    deliver_due("worker-a", now)
    plan_reminders(now)
    follow_up_due = local(CHICAGO, 2026, 6, 18, 10)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_due("worker-a", follow_up_due).sent == 1
    [email] = mailoutbox
    assert email.body.startswith("A gentle reminder: you have a short questionnaire to answer in Tandem.")
    for private in PRIVATE:
        assert private not in email.subject + email.body


def test_a_questionnaire_answered_meanwhile_sends_nothing(personas, due_reminder, mailoutbox):
    reminder, now = due_reminder
    give(personas.patient, personas.patient_user, "phq-9", [0] * 9, now - timedelta(minutes=15))
    claimed = claim_one("worker-a", now)
    assert claimed is not None and send(claimed, now=now) == CANCELLED
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.CANCELLED
    assert not Notification.objects.filter(user=personas.patient_user).exists() and mailoutbox == []
    plan_reminders(now + timedelta(minutes=10))  # and the answer ended the episode: nothing new
    assert len(rows(personas.patient)) == 1


def test_an_answer_after_the_first_reminder_cancels_the_follow_up(personas, due_reminder):
    _, now = due_reminder
    deliver_due("worker-a", now)
    plan_reminders(now)
    give(personas.patient, personas.patient_user, "phq-9", [0] * 9, now + timedelta(days=1))
    result = deliver_due("worker-a", local(CHICAGO, 2026, 6, 18, 10))
    assert (result.sent, result.cancelled) == (0, 1)
    assert Notification.objects.filter(user=personas.patient_user).count() == 1


def test_an_incomplete_answer_does_not_end_the_episode(personas, due_reminder):
    _, now = due_reminder
    do_record_response(
        personas.patient,
        instrument="phq-9",
        answers=answers("phq-9", {"/44250-9": 1}),
        administered_by="patient",
        source="portal",
        idempotency_key="incomplete-1",
        acting_user=personas.patient_user,
        authored_at=now - timedelta(minutes=5),
        now=now - timedelta(minutes=5),
    )
    assert deliver_due("worker-a", now).sent == 1


def test_a_patient_who_turned_emails_off_gets_the_in_app_notification_only(
    personas, due_reminder, mailoutbox, django_capture_on_commit_callbacks
):
    reminder, now = due_reminder
    QuestionnaireReminderPreference.objects.create(patient=personas.patient, email=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_due("worker-a", now).sent == 1
    reminder.refresh_from_db()
    assert reminder.emailed is False
    assert Notification.objects.filter(user=personas.patient_user).count() == 1
    assert mailoutbox == []


def test_a_patient_without_portal_access_any_more_gets_nothing(personas, due_reminder):
    _, now = due_reminder
    personas.patient_user.is_active = False
    personas.patient_user.save(update_fields=["is_active"])
    assert deliver_due("worker-a", now).cancelled == 1
    assert not Notification.objects.filter(user=personas.patient_user).exists()


def test_a_reminder_found_late_at_night_waits_for_the_next_1000(personas, due_reminder):
    reminder, _ = due_reminder
    night = local(CHICAGO, 2026, 6, 15, 23, 0)  # the worker was down all day
    assert claim_one("worker-a", night) is None
    assert plan_reminders(night).postponed == 1
    reminder.refresh_from_db()
    assert (reminder.status, reminder.due_at) == (ReminderStatus.PENDING, local(CHICAGO, 2026, 6, 16, 10))
    assert deliver_due("worker-a", local(CHICAGO, 2026, 6, 16, 10, 1)).sent == 1


def test_a_claimed_reminder_is_not_sent_outside_waking_hours(personas, due_reminder):
    reminder, _ = due_reminder
    claimed = claim_one("worker-a", reminder.due_at)
    assert claimed is not None
    assert send(claimed, now=local(CHICAGO, 2026, 6, 15, 20, 0)) == POSTPONED
    reminder.refresh_from_db()
    assert (reminder.due_at, reminder.claimed_by) == (local(CHICAGO, 2026, 6, 16, 10), "")
    assert not Notification.objects.filter(user=personas.patient_user).exists()


# Claiming -------------------------------------------------------------------------------------


def test_a_row_claimed_by_one_worker_is_not_claimed_by_another(due_reminder):
    reminder, now = due_reminder
    a = claim_one("worker-a", now)
    b = claim_one("worker-b", now)
    assert a is not None and a.pk == reminder.pk and a.claimed_by == "worker-a"
    assert b is None


def test_two_workers_that_read_the_same_row_cannot_both_take_it(due_reminder):
    reminder, now = due_reminder
    # Both read the row as unclaimed; the conditional UPDATE lets only the first one through.
    assert take(reminder.pk, None, "worker-a", now) is True
    assert take(reminder.pk, None, "worker-b", now) is False
    reminder.refresh_from_db()
    assert reminder.claimed_by == "worker-a"


def test_two_interleaving_workers_claim_each_of_ten_rows_exactly_once(personas):
    due = local(CHICAGO, 2026, 6, 15, 10)
    for n in range(10):
        patient = patient_in(personas, CHICAGO, n + 10)
        plan(patient, personas.prescriber, EVERY_14)
    assert plan_reminders(local(CHICAGO, 2026, 6, 15, 7)).created == 10
    claims: dict[str, list[int]] = {"worker-a": [], "worker-b": []}
    while True:
        got = [(w, claim_one(w, due)) for w in claims]
        for worker, reminder in got:
            if reminder is not None:
                claims[worker].append(reminder.pk)
        if all(r is None for _, r in got):
            break
    everything = claims["worker-a"] + claims["worker-b"]
    assert len(everything) == 10 and len(set(everything)) == 10
    assert len(claims["worker-a"]) == len(claims["worker-b"]) == 5
    for worker, pks in claims.items():
        claimed_by = QuestionnaireReminder.objects.filter(pk__in=pks).values_list("claimed_by", flat=True)
        assert set(claimed_by) == {worker}


def test_a_stale_claim_is_taken_over_and_the_slow_worker_sends_nothing(
    personas, due_reminder, mailoutbox, django_capture_on_commit_callbacks
):
    reminder, now = due_reminder
    slow = claim_one("worker-a", now)
    assert slow is not None
    assert claim_one("worker-b", now + timedelta(minutes=4)) is None  # the claim is still fresh
    later = now + timedelta(minutes=6)
    taken_over = claim_one("worker-b", later)
    assert taken_over is not None and taken_over.pk == reminder.pk
    with django_capture_on_commit_callbacks(execute=True):
        assert send(slow, now=later) == LOST  # worker A wakes up: no longer its row
        assert send(taken_over, now=later) == SENT
        assert send(taken_over, now=later) == LOST  # and sending again does nothing
    assert Notification.objects.filter(user=personas.patient_user).count() == 1
    assert len(mailoutbox) == 1


def test_the_worker_runs_the_planner_and_the_sender():
    names = [job.name for job in jobs.registered()]
    assert "measures.plan_questionnaire_reminders" in names
    assert "measures.deliver_questionnaire_reminders" in names
    assert "measures.treat_to_target" in names  # the registration that was there stays
