"""Questionnaire reminders under real contention: two worker processes on one database file."""

from __future__ import annotations

import subprocess
import sys

from tandem.core.tests.test_worker import demo_env, migrated_template  # noqa: F401 (fixtures)

SETUP = """
from datetime import datetime
from zoneinfo import ZoneInfo
from django.db import transaction
from tandem.accounts.models import Organisation, User
from tandem.lib.testing import make_patient
from tandem.measures.reminders import plan_reminders
from tandem.plans.actions import do_create_plan, do_set_plan_status
monitoring = [{{"instrument": "phq9", "every_days": 14}}, {{"instrument": "gad7", "every_days": 14}}]
with transaction.atomic():  # one commit: the demo database syncs every commit to disk
    org = Organisation.objects.create(name="Clinic", slug="clinic")
    prescriber = User.objects.create(email="rx@x.test", full_name="Rx")  # no password to hash
    for i in range({patients}):
        user = User.objects.create(email=f"w{{i}}@x.test", full_name="W")
        patient = make_patient(org, f"W-{{i}}", "W", f"P{{i}}", portal_user=user)
        plan = do_create_plan(patient, acting_user=prescriber, content={{"monitoring": monitoring}})
        do_set_plan_status(plan, "active", acting_user=prescriber)
print(plan_reminders(datetime(2026, 6, 15, 14, 0, tzinfo=ZoneInfo("America/Chicago"))).created)
"""

DELIVER = """
import os, time
from datetime import datetime
from zoneinfo import ZoneInfo
from tandem.measures.reminders import deliver_due
print("ready", flush=True)
while not os.path.exists("{go}"):
    time.sleep(0.002)
result = deliver_due("{name}", datetime(2026, 6, 15, 14, 1, tzinfo=ZoneInfo("America/Chicago")), limit=1000)
print(result.sent, result.cancelled, result.lost, result.failed)
"""

COUNT = """
from django_tasks_db.models import DBTaskResult
from tandem.accounts.models import Notification
from tandem.measures.models import QuestionnaireReminder
print(
    QuestionnaireReminder.objects.filter(status="sent").count(),
    Notification.objects.filter(link="/portal/measures/").count(),
    DBTaskResult.objects.count(),
)
"""


def test_two_worker_processes_on_one_database_send_each_reminder_once(demo_env, tmp_path):  # noqa: F811
    """Two processes on one file database (WAL, one writer at a time) claim the reminders of 30
    patients with a PHQ-9 and a GAD-7 due: 30 messages, none twice, none missed."""
    env = demo_env
    tandem = [sys.executable, "-m", "tandem", "shell", "-v", "0", "-c"]
    setup = subprocess.run(
        [*tandem, SETUP.format(patients=30)], env=env, capture_output=True, text=True, timeout=120
    )
    assert setup.stdout.split() == ["60"], setup.stderr
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
    assert (sent, failed) == (30, 0), outputs
    count = subprocess.run([*tandem, COUNT], env=env, capture_output=True, text=True, timeout=60)
    # Every row sent; one notification and one queued e-mail per patient.
    assert count.stdout.split() == ["60", "30", "30"], count.stderr
