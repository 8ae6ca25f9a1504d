"""`tandem due_work`: run the registered due jobs once, by hand (`tandem worker` runs them on a loop)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tandem.core import jobs


class Command(BaseCommand):
    help = "Run the registered periodic due jobs once (all, or those named) and print what each did."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("names", nargs="*", metavar="JOB", help="job names (default: every job)")
        parser.add_argument("--list", action="store_true", help="list the registered jobs and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for job in jobs.registered():
                self.stdout.write(f"{job.name}\tevery {job.every_seconds:g} s")
            return
        try:
            chosen = jobs.registered(options["names"] or None)
        except KeyError as exc:
            known = ", ".join(job.name for job in jobs.registered()) or "none"
            raise CommandError(f"no due job is called {exc.args[0]!r} (registered: {known})") from None
        failed = []
        for job in chosen:
            run = jobs.run_job(job)
            self.stdout.write(
                f"{job.name}: {'ok' if run.ok else 'FAILED'} in {run.seconds:.2f} s — {run.result}"
            )
            if not run.ok:
                failed.append(job.name)
        if failed:
            raise CommandError(f"due job failed: {', '.join(failed)}")
