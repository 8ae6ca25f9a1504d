from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from tandem.core.management.commands.demo import Command as Demo


class Command(BaseCommand):
    help = "Print the demo logins."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(Demo.logins_text(settings.DEMO_PASSWORD))
