"""`tandem import_fills FILE.csv`: pharmacy fills from a CSV file.

Columns (header first, in any order): mrn, organisation (the organisation's slug), drug (catalog
key or name, org:<id>, or free:<name>), fill_date (YYYY-MM-DD), days_supply (1–365), quantity
(optional), external_id (the sender's id of the fill). Each row is recorded whole or not at
all; rejected rows are listed by line and column and the others are recorded. Importing the same
file again records nothing twice (external_id). Exit status 1 when any row was rejected.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from tandem.accounts.models import User
from tandem.lib.progress import ProgressBar
from tandem.medications.fills import ImportFileError, import_fills

ENCODING = "utf-8-sig"  # spreadsheets often start UTF-8 files with a byte-order mark


def _check_and_count(path: Path) -> int:
    """Lines after the header (the progress bar's total), once the whole file is known to be
    UTF-8: a bad byte on line 90 000 must not leave the first 89 998 rows imported."""
    lines = 0
    with path.open("rb") as stream:
        for lines, raw in enumerate(stream, start=1):
            try:
                raw.decode(ENCODING if lines == 1 else "utf-8")
            except UnicodeDecodeError:
                raise CommandError(f"{path}: line {lines} is not UTF-8 text; nothing was imported") from None
    return max(0, lines - 1)


class Command(BaseCommand):
    help = (
        "Import pharmacy fills from a CSV file (mrn, organisation, drug, fill_date, days_supply, quantity, "
        "external_id). Rows are recorded one by one; rejected rows are reported by line and column."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the CSV file")
        parser.add_argument("--user", help="email of the person importing, recorded in the audit log")
        parser.add_argument(
            "--dry-run", action="store_true", help="check every row and report, but record nothing"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        user = None
        if options["user"]:
            user = User.objects.filter(email__iexact=options["user"].strip(), is_active=True).first()
            if user is None:
                raise CommandError(f"--user: no active user {options['user']!r}")
        total = _check_and_count(path)
        # tqdm rewrites its line with \r, which Django's OutputWrapper would break into new lines.
        stream = getattr(self.stderr, "_out", sys.stderr)
        with (
            path.open(encoding=ENCODING, newline="") as lines,
            ProgressBar(
                total=total,
                unit=" rows",
                file=stream,
                disable=True if options["no_progress"] else None,
                mininterval=0.5,
            ) as progress,
        ):
            try:
                # Each row commits on its own (a long import never holds the database); a dry run
                # is one transaction, rolled back.
                dry = transaction.atomic() if options["dry_run"] else contextlib.nullcontext()
                with dry:
                    report = import_fills(lines, acting_user=user, progress=progress.update)
                    if options["dry_run"]:
                        transaction.set_rollback(True)
            except ImportFileError as exc:
                raise CommandError(f"{path}: {exc}; nothing was imported") from None
        for problem in report.problems:
            self.stdout.write(str(problem))
        summary = report.summary()
        if options["dry_run"]:
            summary = f"dry run, nothing recorded — {summary}"
        self.stdout.write(summary)
        if report.rejected_rows or report.stopped_at is not None:
            raise CommandError(
                f"{report.rejected_rows} row{'s' if report.rejected_rows != 1 else ''} rejected (listed above); "
                "the other rows were recorded" + (" (dry run: none were)" if options["dry_run"] else "")
            )
