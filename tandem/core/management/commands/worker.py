"""`tandem worker`: the task queue (django-tasks-db's db_worker) and the periodic due work.

The due-work loop runs in this process and db_worker in a child process. No threads: a job and a
task never share an interpreter, a slow SMTP server in a task never delays a reminder, and each
side stops on its own signal. The child leads its own session (as in `tandem serve`), so that a
terminal's Ctrl-C or `serve`'s SIGTERM to our process group reaches db_worker exactly once,
forwarded by us: a second signal would make db_worker abandon the task it is running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from tandem.core import jobs

DB_WORKER_ARGS = ["db_worker", "--no-startup-delay", "--no-reload"]
# `tandem serve` waits 10 s for the worker before killing it; stop db_worker within that.
CHILD_STOP_SECONDS = 8.0


class Command(BaseCommand):
    help = (
        "Run the background worker: drains the database task queue (e-mail and follow-up work) and "
        "runs the periodic due work (dose reminders…)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch", action="store_true", help="run each due job once, drain the queue once, and exit"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        registered = jobs.registered()
        if options["batch"]:
            self._batch(registered)
        else:
            self._forever(registered)

    def _batch(self, registered: list[jobs.Job]) -> None:
        # Due jobs first, so that the e-mail they queue is sent by the drain below.
        failed = [run.job.name for run in (jobs.run_job(job) for job in registered) if not run.ok]
        call_command(*DB_WORKER_ARGS, "--batch")
        if failed:
            raise CommandError(f"due job failed: {', '.join(failed)} (see the log above)")

    def _forever(self, registered: list[jobs.Job]) -> None:
        if registered:
            listed = ", ".join(f"{job.name} every {job.every_seconds:g} s" for job in registered)
            self.stdout.write(f"Due work: {listed}")
        else:
            self.stderr.write("Due work: no job is registered")
        child = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "tandem", *DB_WORKER_ARGS, "--interval", "1"], start_new_session=True
        )
        forwarded = False

        def stop(signum: int, frame: Any) -> None:
            # Forward at once, not after the running job: if that job is slow and we are killed
            # meanwhile, db_worker still stops by itself after its current task.
            nonlocal forwarded
            jobs.request_stop()
            if not forwarded and child.poll() is None:
                forwarded = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGTERM)

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        scheduler = jobs.Scheduler(registered)
        try:
            while not jobs.stop_requested() and child.poll() is None:
                close_old_connections()  # a long-lived process: drop broken or aged connections
                scheduler.run_due()
                close_old_connections()
                pause_until = time.monotonic() + scheduler.seconds_until_next()
                while not jobs.stop_requested() and child.poll() is None and time.monotonic() < pause_until:
                    time.sleep(min(0.5, max(0.0, pause_until - time.monotonic())))
        finally:
            self._stop_child(child, forwarded)
        if not jobs.stop_requested():
            self.stderr.write(f"the task queue worker stopped unexpectedly (exit code {child.returncode})")
            sys.exit(1)

    @staticmethod
    def _stop_child(child: subprocess.Popen[bytes], forwarded: bool) -> None:
        if child.poll() is None and not forwarded:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=CHILD_STOP_SECONDS)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
