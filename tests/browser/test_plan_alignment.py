"""The prescriber changes a goal; the therapist sees the acknowledge item and acknowledges."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tandem.lib.testing import PASSWORD
from tandem.plans import actions

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def signed_in(browser: Browser, base: str, email: str):
    context = browser.new_context()
    page = context.new_page()
    page.goto(base + "/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My patients")).to_be_visible()
    return page


def test_a_goal_change_is_acknowledged_by_the_therapist(live_server, browser: Browser, personas):
    plan = actions.do_create_plan(
        personas.patient,
        acting_user=personas.prescriber,
        content={
            "goals": [
                {"kind": "clinical", "text": "Remission", "measure": "phq9", "comparator": "<", "target": 5}
            ]
        },
    )
    actions.do_set_plan_status(plan, "active", acting_user=personas.prescriber)
    for member in (personas.therapist, personas.care_manager, personas.consultant):
        actions.do_acknowledge(plan, revision_number=1, acting_user=member)

    prescriber = signed_in(browser, live_server.url, "prescriber@riverside.test")
    prescriber.goto(f"{live_server.url}/patients/{personas.patient.pk}/plan/")
    prescriber.get_by_role("link", name="Edit goals").click()
    prescriber.get_by_label("Goal").first.fill("Response first: PHQ-9 below 10")
    prescriber.get_by_label("Target score").first.fill("10")
    prescriber.get_by_label("What changed and why").fill("Aim for response before remission")
    prescriber.get_by_role("button", name="Save as a new revision").click()
    expect(prescriber.get_by_text("Response first: PHQ-9 below 10")).to_be_visible()

    therapist = signed_in(browser, live_server.url, "therapist@riverside.test")
    item = therapist.get_by_role("link", name="Pat Patient: revision 2", exact=False)
    expect(item).to_be_visible()
    item.click()
    therapist.get_by_role("button", name="Acknowledge revision 2").click()
    expect(therapist.get_by_text("You acknowledged revision 2.")).to_be_visible()
    expect(therapist.get_by_role("button", name="Acknowledge revision 2")).to_have_count(0)
    therapist.goto(live_server.url + "/patients/")
    expect(therapist.get_by_text("Acknowledge plan change")).to_have_count(0)
