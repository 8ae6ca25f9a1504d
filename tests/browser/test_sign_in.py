"""Real Chromium through Playwright, against a live server with a real database."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tandem.lib.testing import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(base + "/")
    expect(page).to_have_url(base + "/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_clinician_signs_in_and_opens_a_patient(live_server, page: Page, personas):
    sign_in(page, live_server.url, "therapist@riverside.test")
    expect(page.get_by_role("heading", name="My patients")).to_be_visible()
    page.get_by_label("Search by name or MRN").fill("RC-1")
    row = page.get_by_role("link", name="Patient, Pat")
    expect(row).to_be_visible()
    expect(page.get_by_role("link", name="Other, Oli")).to_have_count(0)
    row.click()
    expect(page.get_by_role("heading", name="Pat Patient")).to_be_visible()
    expect(page.get_by_role("heading", name="Care team")).to_be_visible()
    expect(page.get_by_text("Rita Prescriber")).to_be_visible()
    page.get_by_role("link", name="Medications").click()
    expect(page.get_by_role("heading", name="Medications")).to_be_visible()


def test_a_patient_signs_in_to_the_portal_on_a_phone(live_server, browser, personas):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    page = context.new_page()
    sign_in(page, live_server.url, "pat@example.test")
    expect(page.get_by_role("heading", name="Hello, Pat")).to_be_visible()
    expect(page.get_by_role("link", name="988")).to_be_visible()
    # Nothing is wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("link", name="See who opened your record").click()
    expect(page.get_by_role("heading", name="Who opened your record")).to_be_visible()
    context.close()


def test_a_wrong_password_shows_a_generic_error(live_server, page: Page, personas):
    page.goto(live_server.url + "/login/")
    page.get_by_label("Email").fill("therapist@riverside.test")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match an account")
