"""The patient's plan and safety plan on a phone, in real Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tandem.plans.actions import do_save_safety_document
from tandem.plans.tests.plan_helpers import active_plan
from tests.browser.test_sign_in import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_patient_reads_their_plan_and_reaches_the_safety_plan_in_one_tap(live_server, browser, personas):
    active_plan(personas.patient, personas.therapist)
    do_save_safety_document(
        personas.patient,
        "safety",
        content={
            "warning_signs": ["Staying in bed all day"],
            "people_to_ask": [{"name": "Sam", "phone": "555 0100"}],
        },
        acting_user=personas.therapist,
        base_revision=0,
        role="therapist",
    )
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    page = context.new_page()
    sign_in(page, live_server.url, "pat@example.test")
    expect(page.get_by_role("heading", name="Hello, Pat")).to_be_visible()

    page.get_by_role("link", name="See my treatment plan").click()
    expect(page.get_by_role("heading", name="Your treatment plan")).to_be_visible()
    headings = page.get_by_role("heading", level=2).all_inner_texts()
    assert headings[0] == "Your goals, in your own words"
    expect(page.get_by_text("Get back to running")).to_be_visible()
    expect(page.get_by_text("PHQ-9 below 5 means few or no symptoms of depression")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.goto(live_server.url + "/portal/")
    safety = page.get_by_role("link", name="My safety plan", exact=True)
    expect(safety).to_be_in_viewport()  # at the top of every portal page, no scrolling
    safety.click()
    expect(page.get_by_role("heading", name="Staying safe")).to_be_visible()
    expect(page.get_by_role("heading", name="My safety plan", exact=True)).to_be_visible()
    expect(page.get_by_text("Staying in bed all day")).to_be_visible()
    expect(page.get_by_role("link", name="Call or text 988")).to_be_visible()
    expect(page.get_by_role("link", name="555 0100")).to_have_attribute("href", "tel:5550100")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    context.close()
