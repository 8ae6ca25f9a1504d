from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tandem.audit.verify import verify_chain


class Command(BaseCommand):
    help = "Audit log tools. `tandem audit verify` walks the hash chain and names the first broken row."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("verify", help="check every audit row against the hash chain")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "verify":
            count, problems = verify_chain()
            if problems:
                first = problems[0]
                self.stderr.write(f"audit chain BROKEN after checking {count} rows")
                self.stderr.write(f"first problem: {first}")
                for other in problems[1:6]:
                    self.stderr.write(f"then: {other}")
                if len(problems) > 6:
                    self.stderr.write(f"… and {len(problems) - 6} more")
                raise CommandError(f"{first.kind} row at seq {first.seq}", returncode=1)
            self.stdout.write(f"audit chain intact: {count} rows verified")
