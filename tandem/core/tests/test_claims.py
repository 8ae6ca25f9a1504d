"""Claims of due rows (tandem/core/claims.py): one claimer per row, a lease that runs out, marks
that only change open rows, and a once-per-period claim. The rows are questionnaire reminders
and digest preferences, two of the tables claimed in production."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from tandem.collab.models import DigestPreference
from tandem.core import claims as claims_module
from tandem.core.claims import UNCLAIMED, Claims, claim_period, holds
from tandem.core.tests.test_worker import demo_env, migrated_template  # noqa: F401 (fixtures)
from tandem.measures.models import QuestionnaireReminder, ReminderStatus

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
WINDOW = timedelta(hours=1)
CLAIMS = Claims(QuestionnaireReminder, Q(status=ReminderStatus.PENDING), lease=LEASE, window=WINDOW)


@pytest.fixture
def row(personas):
    """Make a pending reminder row of the persona patient, due at `due_at`."""
    made = iter(range(1000))

    def make(due_at: datetime = NOW, **extra: Any) -> QuestionnaireReminder:
        return QuestionnaireReminder.objects.create(
            patient=personas.patient,
            instrument="phq9",
            episode=f"e{next(made)}",
            kind="first",
            due_on=due_at.date(),
            due_at=due_at,
            **extra,
        )

    return make


def fresh(reminder: QuestionnaireReminder) -> QuestionnaireReminder:
    reminder.refresh_from_db()
    return reminder


# Claiming -------------------------------------------------------------------------------------


def test_a_claim_takes_the_oldest_due_row_and_records_who_and_when(row):
    later = row(NOW - timedelta(minutes=1))
    oldest = row(NOW - timedelta(minutes=30))
    row(NOW + timedelta(minutes=1))  # not due yet
    got = CLAIMS.claim_next("worker-a", NOW)
    assert got is not None and got.pk == oldest.pk
    assert (got.claimed_by, got.claimed_at) == ("worker-a", NOW)
    assert CLAIMS.claim_next("worker-a", NOW).pk == later.pk
    assert CLAIMS.claim_next("worker-a", NOW) is None


def test_rows_due_at_the_same_instant_are_claimed_in_id_order(row):
    first, second = row(), row()
    assert [CLAIMS.claim_next("w", NOW).pk for _ in range(2)] == [first.pk, second.pk]


def test_the_due_window_includes_both_ends(row):
    edge = row(NOW - WINDOW)
    row(NOW - WINDOW - timedelta(microseconds=1))  # too late: its owner's rules give it up
    at_now = row(NOW)
    got = [CLAIMS.claim_next("w", NOW) for _ in range(3)]
    assert [g.pk if g else None for g in got] == [edge.pk, at_now.pk, None]


def test_a_row_that_is_no_longer_open_is_not_claimed(row):
    row(status=ReminderStatus.SENT)
    row(status=ReminderStatus.CANCELLED)
    assert CLAIMS.claim_next("w", NOW) is None


def test_two_claimers_that_read_the_same_row_cannot_both_take_it(row):
    reminder = row()
    assert CLAIMS.take(reminder.pk, None, "worker-a", NOW) is True
    assert CLAIMS.take(reminder.pk, None, "worker-b", NOW) is False
    assert fresh(reminder).claimed_by == "worker-a"


def test_a_take_is_one_conditional_update(row):
    reminder = row()
    with CaptureQueriesContext(connection) as queries:
        CLAIMS.take(reminder.pk, None, "worker-a", NOW)
    assert len(queries) == 1
    sql = queries[0]["sql"].upper()
    assert sql.startswith("UPDATE") and "CLAIMED_AT" in sql.split("WHERE", 1)[1]
    assert "STATUS" in sql.split("WHERE", 1)[1]


def test_a_take_fails_once_the_row_is_closed(row):
    reminder = row()
    QuestionnaireReminder.objects.filter(pk=reminder.pk).update(status=ReminderStatus.CANCELLED)
    assert CLAIMS.take(reminder.pk, None, "worker-a", NOW) is False


def test_a_claimer_that_loses_the_race_for_a_row_moves_on_to_the_next(row):
    contested, other = row(), row()

    class Racing(Claims[QuestionnaireReminder]):
        def take(self, pk: Any, seen: datetime | None, worker_id: str, now: datetime) -> bool:
            if pk == contested.pk and seen is None:
                CLAIMS.take(pk, None, "worker-b", now)  # worker B updates it between our read and our update
            return super().take(pk, seen, worker_id, now)

    racing = Racing(QuestionnaireReminder, Q(status=ReminderStatus.PENDING), lease=LEASE, window=WINDOW)
    got = racing.claim_next("worker-a", NOW)
    assert got is not None and got.pk == other.pk
    assert fresh(contested).claimed_by == "worker-b"


def test_a_claimer_that_loses_every_race_gives_up_after_its_attempts(row):
    row()
    attempts: list[int] = []

    class AlwaysLosing(Claims[QuestionnaireReminder]):
        def take(self, pk: Any, seen: datetime | None, worker_id: str, now: datetime) -> bool:
            attempts.append(pk)
            return False

    losing = AlwaysLosing(
        QuestionnaireReminder, Q(status=ReminderStatus.PENDING), lease=LEASE, window=WINDOW, attempts=3
    )
    assert losing.claim_next("worker-a", NOW) is None
    assert len(attempts) == 3


def test_the_claimer_id_is_cut_to_the_column_width(row):
    reminder = row()
    assert CLAIMS.take(reminder.pk, None, "w" * 100, NOW)
    assert fresh(reminder).claimed_by == "w" * 64


# The lease ------------------------------------------------------------------------------------


def test_a_claim_is_held_for_the_lease_and_can_be_taken_over_after_it(row):
    reminder = row()
    slow = CLAIMS.claim_next("worker-a", NOW)
    assert slow is not None
    assert CLAIMS.claim_next("worker-b", NOW + LEASE) is None  # exactly the lease: still held
    later = NOW + LEASE + timedelta(microseconds=1)
    taken_over = CLAIMS.claim_next("worker-b", later)
    assert taken_over is not None and taken_over.pk == reminder.pk
    assert (taken_over.claimed_by, taken_over.claimed_at) == ("worker-b", later)
    current = fresh(reminder)
    assert not holds(current, slow) and holds(current, taken_over)


def test_a_stale_claim_read_by_two_claimers_goes_to_one(row):
    reminder = row()
    CLAIMS.take(reminder.pk, None, "dead-worker", NOW)
    later = NOW + LEASE + timedelta(minutes=1)
    assert CLAIMS.take(reminder.pk, NOW, "worker-a", later) is True
    assert CLAIMS.take(reminder.pk, NOW, "worker-b", later) is False  # it read the old claim
    assert fresh(reminder).claimed_by == "worker-a"


def test_a_row_that_is_gone_or_closed_is_held_by_nobody(row):
    row()
    claimed = CLAIMS.claim_next("worker-a", NOW)
    assert claimed is not None and holds(fresh(claimed), claimed)
    assert not holds(None, claimed)


# Marks and release ----------------------------------------------------------------------------


def test_a_mark_changes_only_open_rows(row):
    open_row, sent = row(), row(status=ReminderStatus.SENT)
    assert CLAIMS.mark([open_row.pk, sent.pk], status=ReminderStatus.CANCELLED) == 1
    assert (fresh(open_row).status, fresh(sent).status) == (ReminderStatus.CANCELLED, ReminderStatus.SENT)
    assert CLAIMS.mark([open_row.pk], status=ReminderStatus.SENT) == 0  # someone else got there first


def test_a_released_row_can_be_claimed_again_at_once(row):
    reminder = row()
    CLAIMS.claim_next("worker-a", NOW)
    assert CLAIMS.release([reminder.pk], due_at=NOW) == 1
    assert (fresh(reminder).claimed_by, fresh(reminder).claimed_at) == ("", None)
    again = CLAIMS.claim_next("worker-b", NOW)
    assert again is not None and again.claimed_by == "worker-b"
    assert UNCLAIMED == {"claimed_by": "", "claimed_at": None}


# Delivering -----------------------------------------------------------------------------------


class Tally:
    def __init__(self) -> None:
        self.sent = self.cancelled = self.lost = self.failed = 0

    @property
    def claimed(self) -> int:
        return self.sent + self.cancelled + self.lost + self.failed


def test_deliver_counts_each_outcome_and_a_failure_keeps_its_claim(row, caplog):
    rows = [row() for _ in range(4)]
    outcomes = iter(["sent", "boom", "cancelled", "lost"])

    def send(reminder: QuestionnaireReminder) -> str:
        outcome = next(outcomes)
        if outcome == "boom":
            raise RuntimeError("the mail server is down")
        CLAIMS.mark([reminder.pk], status=ReminderStatus.SENT)  # (by someone else, when lost)
        return outcome

    result = Tally()
    with caplog.at_level(logging.ERROR):
        CLAIMS.deliver("worker-a", NOW, send, result, limit=10, log=logging.getLogger("t"), what="thing")
    assert (result.sent, result.failed, result.cancelled, result.lost) == (1, 1, 1, 1)
    assert f"thing {rows[1].pk} could not be sent" in caplog.text
    failed = fresh(rows[1])
    assert (failed.status, failed.claimed_by) == (ReminderStatus.PENDING, "worker-a")
    assert CLAIMS.claim_next("worker-b", NOW + LEASE) is None  # retried once the lease has run out
    assert CLAIMS.claim_next("worker-b", NOW + LEASE + timedelta(seconds=1)).pk == failed.pk


def test_deliver_stops_at_its_limit_and_when_the_worker_is_asked_to_stop(row, monkeypatch):
    for _ in range(3):
        row()
    result = Tally()
    CLAIMS.deliver("w", NOW, lambda r: "sent", result, limit=2, log=logging.getLogger("t"), what="thing")
    assert result.sent == 2
    monkeypatch.setattr(claims_module.jobs, "stop_requested", lambda: True)
    stopped = Tally()
    CLAIMS.deliver("w", NOW, lambda r: "sent", stopped, limit=10, log=logging.getLogger("t"), what="thing")
    assert stopped.claimed == 0
    assert QuestionnaireReminder.objects.filter(claimed_by="").count() == 1


# Once per period ------------------------------------------------------------------------------


def test_a_period_is_claimed_once_and_the_next_period_again(personas):
    pref = DigestPreference.objects.create(user=personas.prescriber)
    mine = DigestPreference.objects.filter(pk=pref.pk, enabled=True)
    day = date(2026, 6, 15)
    assert claim_period(mine, "last_sent_on", day, last_sent_at=NOW) is True
    assert claim_period(mine, "last_sent_on", day, last_sent_at=NOW) is False
    assert claim_period(mine, "last_sent_on", day - timedelta(days=1)) is False  # never backwards
    pref.refresh_from_db()
    assert (pref.last_sent_on, pref.last_sent_at) == (day, NOW)
    assert claim_period(mine, "last_sent_on", day + timedelta(days=1)) is True


def test_a_period_claim_respects_the_rows_condition(personas):
    DigestPreference.objects.create(user=personas.prescriber, enabled=False)
    mine = DigestPreference.objects.filter(user=personas.prescriber, enabled=True)
    assert claim_period(mine, "last_sent_on", date(2026, 6, 15)) is False


# Two processes --------------------------------------------------------------------------------

SETUP = """
from datetime import datetime
from django.db import transaction
from tandem.accounts.models import Organisation
from tandem.lib.testing import make_patient
from tandem.measures.models import QuestionnaireReminder
due = datetime.fromisoformat("{due}")
with transaction.atomic():  # one commit: the demo database syncs every commit to disk
    org = Organisation.objects.create(name="Clinic", slug="clinic")
    patient = make_patient(org, "C-1", "C", "P")
    QuestionnaireReminder.objects.bulk_create(
        QuestionnaireReminder(patient=patient, instrument="phq9", episode=str(i), kind="first",
            due_on=due.date(), due_at=due)
        for i in range({rows})
    )
print(QuestionnaireReminder.objects.count())
"""

CLAIM = """
import os, time
from datetime import datetime, timedelta
from django.db.models import Q
from tandem.core.claims import Claims
from tandem.measures.models import QuestionnaireReminder
claims = Claims(QuestionnaireReminder, Q(status="pending"), lease=timedelta(minutes=5), window=timedelta(hours=1))
now = datetime.fromisoformat("{due}") + timedelta(minutes=1)
print("ready", flush=True)
while not os.path.exists("{go}"):
    time.sleep(0.002)
got = []
while True:
    row = claims.claim_next("{name}", now)
    if row is not None:
        got.append(row.pk)
    elif not claims.due(now).exists():  # not merely a run of lost races
        break
print(" ".join(map(str, got)))
"""

HOLDERS = """
from tandem.measures.models import QuestionnaireReminder
for pk, by in QuestionnaireReminder.objects.order_by("pk").values_list("pk", "claimed_by"):
    print(pk, by)
"""


def test_two_processes_claiming_one_file_database_never_get_the_same_row(demo_env, tmp_path):  # noqa: F811
    """Real contention: two processes on one file database (WAL, one writer at a time) claim 150
    rows due at the same instant as fast as they can: every row goes to exactly one of them."""
    env = demo_env
    tandem = [sys.executable, "-m", "tandem", "shell", "-v", "0", "-c"]
    due = NOW.isoformat()
    setup = subprocess.run(
        [*tandem, SETUP.format(due=due, rows=150)], env=env, capture_output=True, text=True, timeout=120
    )
    assert setup.stdout.split() == ["150"], setup.stderr
    go = tmp_path / "go"
    names = ("worker-a", "worker-b")
    workers = [
        subprocess.Popen(
            [*tandem, CLAIM.format(due=due, go=go, name=name)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline() == "ready\n"
    go.touch()  # both start claiming at once
    finished = [worker.communicate(timeout=120) for worker in workers]
    got = {name: [int(pk) for pk in out.split()] for name, (out, _) in zip(names, finished, strict=True)}
    assert all(worker.returncode == 0 for worker in workers), [err for _, err in finished]
    a, b = set(got["worker-a"]), set(got["worker-b"])
    assert len(a) == len(got["worker-a"]) and len(b) == len(got["worker-b"])  # nobody got a row twice
    assert not a & b and len(a | b) == 150
    holders = subprocess.run([*tandem, HOLDERS], env=env, capture_output=True, text=True, timeout=60)
    held = dict(line.split() for line in holders.stdout.splitlines())
    assert {int(pk) for pk, by in held.items() if by == "worker-a"} == a, holders.stderr
    assert {int(pk) for pk, by in held.items() if by == "worker-b"} == b
