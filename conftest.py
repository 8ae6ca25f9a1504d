from __future__ import annotations

import os

import pytest

os.environ.setdefault("TANDEM_PROFILE", "test")

# Playwright's sync API runs an event loop in the test thread; Django's ORM is still used synchronously.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture
def personas(db):
    from tandem.lib.testing import build_personas

    return build_personas()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("TANDEM_CHROMIUM", "/usr/bin/chromium"),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(autouse=True)
def _audit_triggers(request):
    """Keep the append-only audit triggers on during every test. A test that commits for real
    (transactional_db, live_server) has its tables emptied afterwards, which the triggers would
    refuse, so they come off just for that clean-up and are back on for the next test."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None and not {"db", "transactional_db", "live_server"} & set(request.fixturenames):
        yield
        return
    from django.db import connection

    from tandem.audit.triggers import set_triggers

    blocker = request.getfixturevalue("django_db_blocker")
    transactional = "transactional_db" in request.fixturenames or "live_server" in request.fixturenames
    if marker is not None and marker.kwargs.get("transaction"):
        transactional = True
    request.getfixturevalue("transactional_db" if transactional else "db")
    set_triggers(connection, on=True)
    yield
    if transactional:
        with blocker.unblock():
            set_triggers(connection, on=False)
