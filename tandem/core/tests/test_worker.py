"""`tandem worker`: the task queue in a child process, the registered due jobs in the main one."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tandem.core import jobs
from tandem.core.management.commands import worker
from tandem.core.tests.test_serve import TANDEM, alive, migrated_demo_env


@pytest.fixture
def registry(monkeypatch):
    """An empty job registry for the test, the real one untouched."""
    monkeypatch.setattr(jobs, "_jobs", {})
    jobs.reset_stop()
    yield jobs
    jobs.reset_stop()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    """One migrated demo database per test session (migrating takes seconds); tests get copies."""
    path = tmp_path_factory.mktemp("migrated")
    migrated_demo_env(path)
    return path


@pytest.fixture
def demo_env(migrated_template, tmp_path) -> dict[str, str]:
    for item in migrated_template.iterdir():
        if item.is_file():
            shutil.copy2(item, tmp_path / item.name)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TANDEM_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(
        TANDEM_PROFILE="demo", TANDEM_VAR_DIR=str(tmp_path), TANDEM_DATABASE_URL=f"sqlite:///{tmp_path}/t.db"
    )
    return env


def test_batch_runs_each_due_job_once_then_drains_the_queue(registry, monkeypatch):
    calls: list[str] = []
    registry.register("test.plan", 300, lambda now: calls.append("plan"))
    registry.register("test.deliver", 30, lambda now: calls.append("deliver"))
    monkeypatch.setattr(worker, "call_command", lambda *args: calls.append(" ".join(args)))
    call_command("worker", "--batch")
    assert calls == ["plan", "deliver", "db_worker --no-startup-delay --no-reload --batch"]


def test_a_failing_job_does_not_stop_the_others_and_the_batch_fails(registry, monkeypatch):
    calls: list[str] = []

    def broken(now):
        raise RuntimeError("boom")

    registry.register("test.broken", 60, broken)
    registry.register("test.fine", 60, lambda now: calls.append("fine"))
    monkeypatch.setattr(worker, "call_command", lambda *args: calls.append("drain"))
    with pytest.raises(CommandError, match=r"test\.broken"):
        call_command("worker", "--batch")
    assert calls == ["fine", "drain"]


def test_a_job_runs_again_only_after_its_interval(registry):
    runs: list[str] = []
    registry.register("test.fast", 30, lambda now: runs.append("fast"))
    registry.register("test.slow", 300, lambda now: runs.append("slow"))
    clock = [1000.0]
    scheduler = jobs.Scheduler(registry.registered(), clock=lambda: clock[0])
    scheduler.run_due()
    assert runs == ["fast", "slow"]  # everything is due on start
    clock[0] += 10
    assert scheduler.run_due() == [] and scheduler.seconds_until_next() == 20
    clock[0] += 21
    scheduler.run_due()
    clock[0] += 300
    scheduler.run_due()
    assert runs == ["fast", "slow", "fast", "fast", "slow"]


def test_a_stop_request_ends_a_round_between_jobs(registry):
    runs: list[str] = []

    def first(now):
        runs.append("first")
        jobs.request_stop()

    registry.register("test.first", 30, first)
    registry.register("test.second", 30, lambda now: runs.append("second"))
    jobs.Scheduler(registry.registered()).run_due()
    assert runs == ["first"]


def test_due_work_runs_named_jobs_once_and_names_an_unknown_one(registry, capsys):
    runs: list[str] = []
    registry.register("test.one", 30, lambda now: runs.append("one"))
    registry.register("test.two", 30, lambda now: runs.append("two"))
    call_command("due_work", "test.two")
    assert runs == ["two"]
    with pytest.raises(CommandError, match="no due job is called 'nope'"):
        call_command("due_work", "nope")
    call_command("due_work", "--list")
    assert "test.one\tevery 30 s" in capsys.readouterr().out


RUN_BATCH_WITH_REMINDERS = """
from django.core.management import call_command
from tandem.medications.reminders import register_jobs
register_jobs()  # what MedicationsConfig.ready() does
call_command("worker", "--batch")
"""

DOSE_DUE_A_MINUTE_AGO = """
from datetime import timedelta
from django.utils import timezone
from tandem.accounts.models import Organisation, User
from tandem.lib.testing import make_patient
from tandem.medications.actions import do_start_regimen
org = Organisation.objects.create(name="Clinic", slug="clinic")
user = User.objects.create(email="pat@example.test", full_name="Pat Patient")
patient = make_patient(org, "P-1", "Pat", "Patient", portal_user=user, time_zone="Pacific/Auckland")
now = timezone.now()
due = (now - timedelta(minutes=1)).astimezone(patient.tz)
do_start_regimen(patient, drug_key="sertraline", drug_name="Sertraline", drug_classes=[], dose_amount=50,
    times=[due.strftime("%H:%M")], reason="r", acting_user=user, effective_at=now - timedelta(days=2))
"""


def test_worker_batch_in_its_own_process_sends_a_due_reminder_once(demo_env):
    shell = [*TANDEM, "shell", "-v", "0", "-c"]
    subprocess.run([*shell, DOSE_DUE_A_MINUTE_AGO], env=demo_env, check=True, timeout=60)
    first = subprocess.run(
        [*shell, RUN_BATCH_WITH_REMINDERS], env=demo_env, capture_output=True, text=True, timeout=120
    )
    assert first.returncode == 0, first.stderr
    assert "Subject: Medication reminder" in first.stdout  # planned, claimed, sent, queued, drained
    assert "medication. Open Tandem to record it." in first.stdout
    assert "Sertraline" not in first.stdout
    again = subprocess.run(
        [*shell, RUN_BATCH_WITH_REMINDERS], env=demo_env, capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stderr
    assert "Medication reminder" not in again.stdout  # sent once, not twice


def test_sigterm_stops_the_worker_and_its_queue_process(demo_env):
    proc = subprocess.Popen(
        [*TANDEM, "worker"], env=demo_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        children: list[str] = []
        for _ in range(150):
            children = subprocess.run(
                ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
            ).stdout.split()
            if children:
                break
            time.sleep(0.1)
        assert len(children) == 1  # db_worker
        time.sleep(1.5)  # let db_worker set up its signal handlers
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, output
        assert not alive(int(children[0])), "db_worker outlived the worker"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_worker_stops_when_its_queue_process_dies(demo_env):
    proc = subprocess.Popen(
        [*TANDEM, "worker"], env=demo_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        children: list[str] = []
        for _ in range(150):
            children = subprocess.run(
                ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
            ).stdout.split()
            if children:
                break
            time.sleep(0.1)
        os.kill(int(children[0]), signal.SIGKILL)
        output, _ = proc.communicate(timeout=30)
        assert proc.returncode == 1
        assert "the task queue worker stopped unexpectedly" in output
    finally:
        if proc.poll() is None:
            proc.kill()
