"""`tandem import FILE [--format ndjson|bundle] [--organisation SLUG] [--as EMAIL]`: FHIR resources
from another system (an EHR's Bulk Data export, or a Bundle), imported as EMAIL would import them
over the FHIR API — the same checks, actions and audit (tandem.fhir.bulk_import).

Each resource is imported whole or not at all; the failures are listed by line (entry) with the
reason, and the exit status is 1 when any failed. Importing the same file again creates nothing
twice for patients (matched by MRN) and for resources with an identifier.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import HttpRequest

from tandem.accounts.models import ApiToken, Organisation, User
from tandem.fhir.auth import Caller
from tandem.fhir.bulk_import import Report, count_lines, import_bundle, import_ndjson
from tandem.fhir.importer import Importer
from tandem.lib.progress import ProgressBar

# What the command may do on EMAIL's behalf: what a token with these scopes could.
SCOPES = "user/*.read user/*.c"
PLAIN_EVERY = 1000  # without a terminal: a line of counts every so many resources


class Command(BaseCommand):
    help = (
        "Import FHIR resources from NDJSON (one resource a line) or a Bundle file: patients (matched by "
        "MRN or created in the organisation) and what may be created over the FHIR API."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the NDJSON or Bundle (JSON) file")
        parser.add_argument("--format", choices=("ndjson", "bundle"), help="default: from the file's name")
        parser.add_argument("--organisation", help="slug of the organisation new patients join")
        parser.add_argument(
            "--as", dest="as_user", help="email of the clinician or administrator importing (required)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        if not options["as_user"]:
            raise CommandError("--as EMAIL: name the clinician or administrator importing")
        user = User.objects.filter(email__iexact=options["as_user"].strip(), is_active=True).first()
        if user is None:
            raise CommandError(f"--as: no active user {options['as_user']!r}")
        organisation = None
        if options["organisation"]:
            organisation = Organisation.objects.filter(slug=options["organisation"]).first()
            if organisation is None:
                raise CommandError(f"--organisation: no organisation {options['organisation']!r}")
        fmt = options["format"] or ("bundle" if path.suffix.lower() == ".json" else "ndjson")
        importer = Importer(
            command_request(user), Caller(user, ApiToken(user=user, scopes=SCOPES), None), organisation
        )
        report = self._run(path, fmt, importer)
        for problem in report.problems:
            self.stdout.write(str(problem))
        self.stdout.write(report.summary())
        if report.failed:
            raise CommandError(f"{report.failed} failed (listed above); the others were imported")

    def _run(self, path: Path, fmt: str, importer: Importer) -> Report:
        # tqdm rewrites its line with \r, which Django's OutputWrapper would break into new lines.
        stream = getattr(self.stderr, "_out", sys.stderr)
        tty = hasattr(stream, "isatty") and stream.isatty()
        total = count_lines(path) if fmt == "ndjson" else None
        done = [0, time.monotonic()]

        def plain(n: int) -> None:
            done[0] += n
            if done[0] % PLAIN_EVERY == 0:
                stream.write(f"{done[0]}{f' of {total}' if total else ''} resources\n")

        with ProgressBar(
            total=total, unit=" resources", file=stream, disable=not tty, mininterval=0.5
        ) as bar:

            def tick(n: int) -> None:
                bar.update(n)

            progress: Callable[[int], None] = tick if tty else plain
            if fmt == "ndjson":
                return import_ndjson(path, importer, progress)
            return import_bundle(path, importer, progress)


def command_request(user: User) -> HttpRequest:
    """A request for the audit rows of a command: who, no address, what ran."""
    request = HttpRequest()
    request.method = "POST"
    request.path = "/cli/import"
    request.META = {"HTTP_USER_AGENT": "tandem import"}
    request.user = user
    return request
