from __future__ import annotations

import os

import pytest

os.environ.setdefault("TANDEM_PROFILE", "test")

# Playwright's sync API runs an event loop in the test thread; Django's ORM is still used synchronously.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]


@pytest.fixture
def personas(db):
    from tandem.lib.testing import build_personas

    return build_personas()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": os.environ.get("TANDEM_CHROMIUM", "/usr/bin/chromium"), "args": CHROMIUM_ARGS}
