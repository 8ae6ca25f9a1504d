from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tandem.accounts.actions import do_create_api_token, do_revoke_api_token
from tandem.accounts.models import ApiToken, User

SCOPE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.(read|write|\*|[cruds]+)$")


def parse_expiry(value: str | None) -> Any:
    if not value:
        return None
    match = re.fullmatch(r"(\d+)([dh])", value)
    if match:
        number, unit = int(match[1]), match[2]
        return timezone.now() + (timedelta(days=number) if unit == "d" else timedelta(hours=number))
    moment = parse_datetime(value)
    if moment is None or timezone.is_naive(moment):
        raise CommandError("--expires: use 30d, 12h or an ISO 8601 time with its offset")
    return moment


class Command(BaseCommand):
    help = "API tokens: create (prints the token as its last line), list, revoke."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        create = sub.add_parser("create", help="create a token for a user")
        create.add_argument("--user", required=True, help="the user's email")
        create.add_argument(
            "--scope", action="append", help="SMART-style scope, e.g. user/*.read (repeatable)"
        )
        create.add_argument("--expires", help="30d, 12h or an ISO 8601 time (default 90d)", default="90d")
        create.add_argument("--name", default="")
        lister = sub.add_parser("list", help="list a user's tokens")
        lister.add_argument("--user", required=True)
        revoke = sub.add_parser("revoke", help="revoke a token by its prefix")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        sub = options["subcommand"]
        if sub == "revoke":
            token = ApiToken.objects.filter(prefix=options["prefix"]).select_related("user").first()
            if token is None:
                raise CommandError(f"no token starts with {options['prefix']!r}")
            do_revoke_api_token(token)
            self.stdout.write(f"revoked {token.prefix}…")
            return
        user = User.objects.filter(email=options["user"].strip().lower()).first()
        if user is None:
            raise CommandError(f"--user: no user with email {options['user']!r}")
        if sub == "list":
            for token in user.api_tokens.order_by("-created_at"):
                state = "revoked" if token.revoked_at else ("expired" if not token.is_usable() else "active")
                self.stdout.write(
                    f"{token.prefix}…  {state:8} {token.scopes}  expires {token.expires_at or 'never'}"
                )
            return
        scopes = options["scope"] or ["user/*.read"]
        for scope in scopes:
            if not SCOPE.match(scope):
                raise CommandError(
                    f"--scope: {scope!r} is not a scope like patient/*.read or user/Observation.rs"
                )
        if not user.is_active:
            raise CommandError(f"--user: {user.email} is deactivated")
        _, raw = do_create_api_token(
            user, scopes=" ".join(scopes), expires_at=parse_expiry(options["expires"]), name=options["name"]
        )
        self.stdout.write(f"token for {user.email} with scopes {' '.join(scopes)}; it is shown only once:")
        self.stdout.write(raw)
