from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tandem.measures.signals.job import BATCH, evaluate_all


class Command(BaseCommand):
    help = (
        "Recompute the treat-to-target signals (response, remission, reliable change, early "
        "non-improvement, needs case review, adequacy of treatment) of every patient with a PHQ-9 "
        "or GAD-7 score, and raise the alerts that need action. Safe to run again at any time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=BATCH, help=f"patients per batch (default {BATCH})")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["batch"] <= 50_000:
            raise CommandError("--batch: give a number from 1 to 50000")
        started = time.perf_counter()
        run = evaluate_all(batch=options["batch"])
        self.stdout.write(f"{run} in {time.perf_counter() - started:.1f} s")
