from __future__ import annotations

import random
import sys
import time
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from tandem.accounts.synth import BENCH_KEY, bench_caseload
from tandem.audit.actions import record_audit
from tandem.audit.models import Action
from tandem.core.seeding import SynthContext, builders
from tandem.lib.progress import ProgressBar

# Ages and enrolment dates count back from this day, not from today, so that a seed gives the
# same data on any day. It lies in the past, so every care-team membership is active.
ANCHOR = date(2026, 1, 5)
MAX_PATIENTS = 5_000_000


class Command(BaseCommand):
    help = (
        "Build a large synthetic population (organisations, clinicians, patients, care teams) for "
        "benchmarks. The same --seed gives the same data; a seed already present is refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, required=True, help="how many patients to make")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument("--batch", type=int, default=5000, help="rows per bulk insert (default 5000)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "tandem synth refuses to run in the production profile (TANDEM_PROFILE=production)"
            )
        patients, seed, batch = options["patients"], options["seed"], options["batch"]
        if not 1 <= patients <= MAX_PATIENTS:
            raise CommandError(f"--patients: give a number from 1 to {MAX_PATIENTS}")
        if not 0 <= seed < 10**9:
            raise CommandError("--seed: give a number from 0 to 999999999")
        if not 100 <= batch <= 100_000:
            raise CommandError("--batch: give a number from 100 to 100000")
        started = time.perf_counter()
        # tqdm rewrites its line with \r, which Django's OutputWrapper would break into new lines.
        stream = getattr(self.stderr, "_out", sys.stderr)
        with (
            ProgressBar(
                total=patients,
                unit=" patients",
                file=stream,
                disable=True if options["no_progress"] else None,
                mininterval=0.5,
            ) as progress,
            transaction.atomic(),
        ):
            # One transaction: a failed or interrupted run leaves nothing behind.
            ctx = SynthContext(
                patients=patients,
                seed=seed,
                rng=random.Random(seed),
                anchor=ANCHOR,
                progress=progress,
                batch=batch,
            )
            for _label, module in builders("synth"):
                module.generate(ctx)
            bench = get_user_model().objects.get(pk=ctx.user_ids[BENCH_KEY][0])
            record_audit(
                actor=None,
                actor_label="tandem synth",
                action=Action.CREATE,
                entity_type="SynthData",
                extra={
                    "seed": seed,
                    "patients": patients,
                    "anchor": ANCHOR.isoformat(),
                    "organisation_ids": ctx.org_ids,
                    "patient_id_range": list(ctx.patient_id_range),
                    "bench_clinician": bench.email,
                    "created": ctx.created,
                },
            )
        elapsed = time.perf_counter() - started
        summary = ", ".join(f"{n} {what}" for what, n in ctx.created.items())
        self.stdout.write(f"synthetic data for seed {seed}: {summary} in {elapsed:.1f} s")
        self.stdout.write(
            f"benchmark care manager: {bench.email} (password {settings.DEMO_PASSWORD}), "
            f"{bench_caseload(patients)} patients"
        )
