from __future__ import annotations

import random
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from tandem.audit.actions import record_audit
from tandem.audit.models import Action
from tandem.core.seeding import DemoContext, builders

LOGINS = [
    ("therapist@demo.tandem", "therapist, Demo Clinic"),
    ("prescriber@demo.tandem", "prescriber (psychiatrist), Demo Clinic"),
    ("care@demo.tandem", "care manager, Demo Clinic"),
    ("consultant@demo.tandem", "psychiatric consultant, Demo Clinic"),
    ("admin@demo.tandem", "organisation administrator, Demo Clinic"),
    ("patient@demo.tandem", "patient portal"),
    ("prescriber@northside.demo.tandem", "prescriber, Northside Psychiatry (sees shared patients only)"),
]


class Command(BaseCommand):
    help = "Load the demo organisations, users and patients. Running it again changes nothing."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "tandem demo refuses to run in the production profile (TANDEM_PROFILE=production)"
            )
        ctx = DemoContext(
            password=settings.DEMO_PASSWORD,
            today=timezone.localdate(),
            rng=random.Random(20261127),
            out=self.stdout,
        )
        with transaction.atomic():
            for _label, module in builders("demo"):
                module.build(ctx)
            if ctx.created:
                record_audit(
                    actor=None,
                    actor_label="tandem demo",
                    action=Action.CREATE,
                    entity_type="DemoData",
                    extra={"created": ctx.created},
                )
        if ctx.created:
            summary = ", ".join(f"{n} {what}" for what, n in ctx.created.items())
            self.stdout.write(f"demo data loaded: {summary}")
        else:
            self.stdout.write("demo data already loaded; nothing changed")

    @staticmethod
    def logins_text(password: str) -> str:
        lines = [f"Demo logins (password: {password}):"]
        lines += [f"  {email:36} {what}" for email, what in LOGINS]
        return "\n".join(lines)
