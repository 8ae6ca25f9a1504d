from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tandem.accounts.models import ApiToken, hash_token


def run(*args: str) -> str:
    out = StringIO()
    call_command("token", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_create_prints_the_token_last_and_stores_only_its_hash(personas):
    output = run(
        "create", "--user", "prescriber@riverside.test", "--scope", "user/Observation.rs", "--expires", "30d"
    )
    raw = output.strip().splitlines()[-1]
    assert raw.startswith("tdm_") and len(raw) > 40
    token = ApiToken.objects.get()
    assert token.token_hash == hash_token(raw)
    assert raw not in (token.token_hash, token.prefix)
    assert token.scopes == "user/Observation.rs"
    assert token.is_usable()


@pytest.mark.django_db
def test_revoke_and_list(personas):
    run("create", "--user", "prescriber@riverside.test")
    token = ApiToken.objects.get()
    run("revoke", token.prefix)
    token.refresh_from_db()
    assert not token.is_usable()
    assert "revoked" in run("list", "--user", "prescriber@riverside.test")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody@x.test"], "--user"),
        (["--user", "prescriber@riverside.test", "--scope", "everything"], "--scope"),
        (["--user", "prescriber@riverside.test", "--expires", "tomorrow"], "--expires"),
    ],
)
def test_bad_arguments_are_named(personas, args, message):
    with pytest.raises(CommandError, match=message):
        run("create", *args)
    assert not ApiToken.objects.exists()
