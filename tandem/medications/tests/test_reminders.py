from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tandem.accounts.models import Notification
from tandem.audit.models import AuditEvent
from tandem.core.tests.test_worker import demo_env, migrated_template  # noqa: F401 (fixtures)
from tandem.lib.testing import make_patient, make_user
from tandem.medications.actions import do_change_regimen, do_log_dose, do_start_regimen
from tandem.medications.models import DoseReminder, ReminderStatus
from tandem.medications.reminders import (
    CANCELLED,
    LOST,
    SENT,
    claim_one,
    deliver_due,
    plan_reminders,
    send,
    take,
)


def start(patient, prescriber, effective_at, *, times=("08:00",), drug="Sertraline", dose=50):
    return do_start_regimen(
        patient,
        drug_key=drug.lower(),
        drug_name=drug,
        drug_classes=["ssri"],
        dose_amount=dose,
        times=list(times),
        reason="Start for depression",
        acting_user=prescriber,
        role="prescriber",
        effective_at=effective_at,
    )


def patient_in(personas, zone: str, n: int = 1):
    user = make_user(f"zone{n}@example.test", f"Zoe Zone{n}")
    return make_patient(personas.home, f"TZ-{n}", "Zoe", f"Zone{n}", time_zone=zone, portal_user=user)


def local(zone: str, y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=ZoneInfo(zone))


def rows(patient, status=None):
    qs = DoseReminder.objects.filter(patient=patient).order_by("due_at", "pk")
    return list(qs.filter(status=status) if status else qs)


# Planning -----------------------------------------------------------------------------------

DST_CHANGES = [
    ("America/New_York", date(2026, 3, 8)),  # EST → EDT
    ("America/New_York", date(2026, 11, 1)),  # EDT → EST
    ("Europe/London", date(2026, 3, 29)),  # GMT → BST
    ("Europe/London", date(2026, 10, 25)),  # BST → GMT
    ("Australia/Sydney", date(2026, 4, 5)),  # AEDT → AEST
    ("Australia/Sydney", date(2026, 10, 4)),  # AEST → AEDT
]


@pytest.mark.django_db
@pytest.mark.parametrize(("zone", "change_day"), DST_CHANGES)
def test_a_daily_0800_dose_is_reminded_at_0800_local_on_the_days_around_a_clock_change(
    personas, zone, change_day
):
    patient = patient_in(personas, zone)
    start(patient, personas.prescriber, local(zone, 2026, 1, 1))
    # Plan as the worker does: every six hours with the default one-day horizon, over four days.
    first = change_day - timedelta(days=2)
    now = local(zone, first.year, first.month, first.day, 9, 0)
    while now < local(zone, first.year, first.month, first.day, 9, 0) + timedelta(days=4):
        plan_reminders(now)
        now += timedelta(hours=6)
    planned = rows(patient)
    tz = ZoneInfo(zone)
    days = [r.due_at.astimezone(tz).date() for r in planned]
    # From the first run's 08:00 (an hour late is still sent) to the last run's horizon: once a
    # day, no day twice and none missed.
    assert days == [first + timedelta(days=i) for i in range(5)]
    assert {r.due_at.astimezone(tz).time() for r in planned} == {time(8, 0)}
    offsets = [r.due_at.astimezone(tz).utcoffset() for r in planned]
    assert len(set(offsets)) == 2  # the UTC instant moved with the clocks


@pytest.mark.django_db
def test_three_zones_are_planned_together_in_one_run(personas):
    zones = ["America/New_York", "Europe/London", "Australia/Sydney"]
    patients = [patient_in(personas, zone, n) for n, zone in enumerate(zones, 1)]
    for patient in patients:
        start(patient, personas.prescriber, datetime(2026, 1, 1, tzinfo=UTC))
    now = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    result = plan_reminders(now, horizon=timedelta(hours=47), batch_size=2)  # two batches
    assert result.created == 6
    expected = {
        "America/New_York": ["2026-03-28T12:00", "2026-03-29T12:00"],  # EDT since 8 March
        "Europe/London": ["2026-03-29T07:00", "2026-03-30T07:00"],  # BST from 29 March, 01:00 UTC
        "Australia/Sydney": ["2026-03-28T21:00", "2026-03-29T21:00"],  # AEDT (UTC+11) until 5 April
    }
    for patient in patients:
        got = [r.due_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") for r in rows(patient)]
        assert got == expected[patient.time_zone]


@pytest.mark.django_db
def test_planning_twice_changes_nothing(personas):
    start(
        personas.patient, personas.prescriber, local("America/Chicago", 2026, 6, 1), times=("08:00", "20:00")
    )
    now = local("America/Chicago", 2026, 6, 10, 7, 0)
    first = plan_reminders(now)
    second = plan_reminders(now)
    assert (first.created, second.created, second.cancelled) == (2, 0, 0)
    assert len(rows(personas.patient)) == 2


@pytest.mark.django_db
def test_planning_costs_the_same_queries_for_few_or_many_patients(personas):
    chicago = "America/Chicago"
    now = local(chicago, 2026, 6, 10, 7, 0)

    def add_patients(first: int, n: int) -> None:
        for i in range(first, first + n):
            user = make_user(f"many{i}@example.test", "M")
            patient = make_patient(personas.home, f"M-{i}", "M", f"P{i}", portal_user=user)
            start(patient, personas.prescriber, local(chicago, 2026, 6, 1), times=("08:00", "20:00"))

    def queries() -> int:
        DoseReminder.objects.all().delete()
        with CaptureQueriesContext(connection) as ctx:
            plan_reminders(now)
        return len(ctx.captured_queries)

    add_patients(0, 2)
    few = queries()
    add_patients(2, 25)
    assert queries() == few  # one batch either way
    assert DoseReminder.objects.count() == 27 * 2


@pytest.mark.django_db
def test_only_patients_with_a_portal_account_get_reminders(personas):
    no_portal = make_patient(personas.home, "RC-9", "Nora", "Noportal")
    start(no_portal, personas.prescriber, local("America/Chicago", 2026, 6, 1))
    start(personas.patient, personas.prescriber, local("America/Chicago", 2026, 6, 1))
    plan_reminders(local("America/Chicago", 2026, 6, 10, 7, 0))
    assert rows(no_portal) == []
    assert len(rows(personas.patient)) == 1


@pytest.mark.django_db
def test_as_needed_medication_gets_no_reminder(personas):
    do_start_regimen(
        personas.patient,
        drug_key="lorazepam",
        drug_name="Lorazepam",
        drug_classes=["benzodiazepine"],
        dose_amount=1,
        schedule_kind="prn",
        prn_max_per_day=2,
        reason="Panic",
        acting_user=personas.prescriber,
        effective_at=local("America/Chicago", 2026, 6, 1),
    )
    assert plan_reminders(local("America/Chicago", 2026, 6, 10, 7, 0)).created == 0


@pytest.mark.django_db
def test_a_changed_dose_time_cancels_the_old_reminder_and_plans_the_new_one(personas):
    regimen = start(personas.patient, personas.prescriber, local("America/Chicago", 2026, 6, 1))
    now = local("America/Chicago", 2026, 6, 10, 6, 0)
    plan_reminders(now)
    do_change_regimen(
        regimen,
        kind="change",
        times=["09:30"],
        reason="Later",
        acting_user=personas.prescriber,
        effective_at=now,
    )
    result = plan_reminders(now)
    assert (result.cancelled, result.created) == (1, 1)
    pending = rows(personas.patient, ReminderStatus.PENDING)
    assert [r.due_at.astimezone(ZoneInfo("America/Chicago")).time() for r in pending] == [time(9, 30)]


@pytest.mark.django_db
def test_a_dose_recorded_early_gets_no_reminder(personas):
    regimen = start(personas.patient, personas.prescriber, local("America/Chicago", 2026, 6, 1))
    due = local("America/Chicago", 2026, 6, 10, 8, 0)
    now = due - timedelta(hours=1)
    do_log_dose(
        personas.patient,
        regimen,
        status="taken",
        due_at=due,
        idempotency_key="early-0001",
        acting_user=personas.patient_user,
        now=now,
    )
    plan_reminders(now, horizon=timedelta(hours=26))
    assert [r.due_at for r in rows(personas.patient)] == [due + timedelta(days=1)]


# Sending ------------------------------------------------------------------------------------


@pytest.fixture
def due_reminder(personas):
    """Pat's 08:00 (Chicago) Sertraline, planned the evening before; it is now 08:00:30."""
    regimen = start(personas.patient, personas.prescriber, local("America/Chicago", 2026, 6, 1))
    due = local("America/Chicago", 2026, 6, 10, 8, 0)
    plan_reminders(due - timedelta(hours=12), horizon=timedelta(hours=13))
    reminder = DoseReminder.objects.get(regimen=regimen, due_at=due)
    return regimen, reminder, due + timedelta(seconds=30)


@pytest.mark.django_db
def test_a_due_reminder_notifies_in_the_app_and_by_email_without_drug_or_name(
    personas, due_reminder, mailoutbox, django_capture_on_commit_callbacks
):
    _, reminder, now = due_reminder
    with django_capture_on_commit_callbacks(execute=True):
        result = deliver_due("worker-a", now)
    assert (result.sent, result.cancelled, result.lost) == (1, 0, 0)
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.SENT and reminder.sent_at == now
    note = Notification.objects.get(user=personas.patient_user)
    assert note.text == "It's time for your 8:00 medication. Open Tandem to record it."
    assert note.link == "/portal/doses/"
    [email] = mailoutbox
    assert email.to == ["pat@example.test"]
    assert email.subject == "Medication reminder"
    assert email.body == (
        f"It's time for your 8:00 medication. Open Tandem to record it.\n\n{settings.SITE_URL}/portal/doses/\n"
    )
    for private in ("Sertraline", "50", "Pat", "Patient", "RC-1"):
        assert private not in email.subject + email.body
    event = AuditEvent.objects.get(entity_type="DoseReminder")
    assert (event.actor_id, event.actor_label, event.patient_id) == (
        None,
        "dose reminders",
        personas.patient.pk,
    )
    # Nothing is due any more: a second round sends nothing.
    assert deliver_due("worker-a", now).claimed == 0


@pytest.mark.django_db
def test_a_stopped_regimens_pending_reminder_is_cancelled_at_send_time(personas, due_reminder):
    regimen, reminder, now = due_reminder
    do_change_regimen(
        regimen,
        kind="stop",
        reason="Side effects",
        acting_user=personas.prescriber,
        effective_at=now - timedelta(hours=2),
    )
    claimed = claim_one("worker-a", now)
    assert claimed is not None and claimed.pk == reminder.pk
    assert send(claimed, now=now) == CANCELLED
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.CANCELLED
    assert not Notification.objects.filter(user=personas.patient_user).exists()


@pytest.mark.django_db
def test_a_held_regimens_reminder_is_cancelled_at_send_time(personas, due_reminder):
    regimen, _, now = due_reminder
    do_change_regimen(
        regimen,
        kind="hold",
        reason="Surgery",
        acting_user=personas.prescriber,
        effective_at=now - timedelta(hours=1),
    )
    assert deliver_due("worker-a", now).cancelled == 1
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_a_dose_recorded_after_planning_is_not_reminded(personas, due_reminder):
    regimen, reminder, now = due_reminder
    do_log_dose(
        personas.patient,
        regimen,
        status="taken",
        due_at=reminder.due_at,
        idempotency_key="early-0002",
        acting_user=personas.patient_user,
        now=reminder.due_at - timedelta(minutes=20),
    )
    assert deliver_due("worker-a", now).cancelled == 1
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.CANCELLED
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_a_patient_without_portal_access_any_more_gets_nothing(personas, due_reminder):
    _, _, now = due_reminder
    personas.patient_user.is_active = False
    personas.patient_user.save(update_fields=["is_active"])
    assert deliver_due("worker-a", now).cancelled == 1
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_several_medications_at_one_time_make_one_reminder(
    personas, mailoutbox, django_capture_on_commit_callbacks
):
    chicago = "America/Chicago"
    start(personas.patient, personas.prescriber, local(chicago, 2026, 6, 1))
    start(personas.patient, personas.prescriber, local(chicago, 2026, 6, 1), drug="Lithium", dose=300)
    due = local(chicago, 2026, 6, 10, 8, 0)
    plan_reminders(due - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        result = deliver_due("worker-a", due)
    assert (result.sent, result.lost) == (1, 0)  # the second row went out with the first
    assert [r.status for r in rows(personas.patient)] == [ReminderStatus.SENT] * 2
    assert Notification.objects.filter(user=personas.patient_user).count() == 1
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_a_reminder_more_than_an_hour_late_is_dropped_not_sent(personas, due_reminder):
    _, reminder, _ = due_reminder
    later = reminder.due_at + timedelta(hours=2)  # the worker was down
    assert claim_one("worker-a", later) is None
    plan_reminders(later)
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.CANCELLED
    assert not Notification.objects.exists()


# Claiming -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_row_claimed_by_one_worker_is_not_claimed_by_another(personas, due_reminder):
    _, reminder, now = due_reminder
    a = claim_one("worker-a", now)
    b = claim_one("worker-b", now)
    assert a is not None and a.pk == reminder.pk and a.claimed_by == "worker-a"
    assert b is None


@pytest.mark.django_db
def test_two_workers_that_read_the_same_row_cannot_both_take_it(personas, due_reminder):
    _, reminder, now = due_reminder
    # Both read the row as unclaimed; the conditional UPDATE lets only the first one through.
    assert take(reminder.pk, None, "worker-a", now) is True
    assert take(reminder.pk, None, "worker-b", now) is False
    reminder.refresh_from_db()
    assert reminder.claimed_by == "worker-a"


def make_due_rows(personas, n: int, due: datetime):
    for i in range(n):
        start(personas.patient, personas.prescriber, due - timedelta(days=3), drug=f"Drug{i}")
    plan_reminders(due - timedelta(minutes=30))
    assert DoseReminder.objects.filter(status=ReminderStatus.PENDING).count() == n


@pytest.mark.django_db
def test_two_interleaving_workers_claim_each_of_ten_rows_exactly_once(personas):
    due = local("America/Chicago", 2026, 6, 10, 8, 0)
    make_due_rows(personas, 10, due)
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
        assert set(DoseReminder.objects.filter(pk__in=pks).values_list("claimed_by", flat=True)) == {worker}


@pytest.mark.django_db
def test_a_stale_claim_is_taken_over_and_the_slow_worker_sends_nothing(
    personas, due_reminder, mailoutbox, django_capture_on_commit_callbacks
):
    _, reminder, now = due_reminder
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


SETUP = """
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
from django.db import transaction
from tandem.accounts.models import Organisation, User
from tandem.lib.testing import make_patient
from tandem.medications.actions import do_start_regimen
from tandem.medications.reminders import plan_reminders
due = datetime(2026, 6, 10, 8, 0, tzinfo=ZoneInfo("America/Chicago"))
with transaction.atomic():  # one commit: the demo database syncs every commit to disk
    org = Organisation.objects.create(name="Clinic", slug="clinic")
    prescriber = User.objects.create(email="rx@x.test", full_name="Rx")  # no password to hash
    for i in range({patients}):
        user = User.objects.create(email=f"w{{i}}@x.test", full_name="W")
        patient = make_patient(org, f"W-{{i}}", "W", f"P{{i}}", portal_user=user)
        for drug in ("Sertraline", "Lithium"):
            do_start_regimen(patient, drug_key=drug, drug_name=drug, drug_classes=[], dose_amount=1,
                times=["08:00"], reason="r", acting_user=prescriber, effective_at=due - timedelta(days=3))
print(plan_reminders(due - timedelta(minutes=30)).created)
"""

DELIVER = """
import os, time
from datetime import datetime
from zoneinfo import ZoneInfo
from tandem.medications.reminders import deliver_due
print("ready", flush=True)
while not os.path.exists("{go}"):
    time.sleep(0.002)
result = deliver_due("{name}", datetime(2026, 6, 10, 8, 1, tzinfo=ZoneInfo("America/Chicago")), limit=1000)
print(result.sent, result.cancelled, result.lost, result.failed)
"""

COUNT = """
from django_tasks_db.models import DBTaskResult
from tandem.accounts.models import Notification
from tandem.medications.models import DoseReminder
print(DoseReminder.objects.filter(status="sent").count(), Notification.objects.count(), DBTaskResult.objects.count())
"""


@pytest.fixture
def database_file_env(request):
    """A copy of a migrated demo database on disk, and the environment of a process using it."""
    return request.getfixturevalue("demo_env")


def test_two_worker_processes_on_one_database_send_each_reminder_once(database_file_env, tmp_path):
    """Real contention: two processes on one file database (WAL, one writer at a time) claim the
    rows of 40 patients with two medications each at 08:00: 40 reminders, none twice, none missed."""
    env = database_file_env
    tandem = [sys.executable, "-m", "tandem", "shell", "-v", "0", "-c"]
    setup = subprocess.run(
        [*tandem, SETUP.format(patients=40)], env=env, capture_output=True, text=True, timeout=120
    )
    assert setup.stdout.split() == ["80"], setup.stderr
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [*tandem, DELIVER.format(go=go, name=name)], env=env, stdout=subprocess.PIPE, text=True
        )
        for name in ("worker-a", "worker-b")
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline() == "ready\n"
    go.touch()  # both start claiming at once
    outputs = [worker.communicate(timeout=120)[0].split() for worker in workers]
    sent, failed = sum(int(out[0]) for out in outputs), sum(int(out[3]) for out in outputs)
    assert (sent, failed) == (40, 0), outputs
    count = subprocess.run([*tandem, COUNT], env=env, capture_output=True, text=True, timeout=60)
    # Every row sent; one notification and one queued e-mail per patient.
    assert count.stdout.split() == ["80", "40", "40"], count.stderr
