"""The therapist sends a "side effect raised in session" hand-off; the prescriber sees the task
in "My tasks" and completes it; the therapist sees it done. And the portal's messages on a phone."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, expect

from tandem.handoffs.models import Handoff, HandoffStatus
from tests.browser.test_sign_in import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_side_effect_raised_in_session_goes_to_the_prescriber_and_comes_back_done(
    live_server, browser: Browser, personas
):
    base = live_server.url
    pid = personas.patient.pk

    theo = browser.new_context().new_page()
    sign_in(theo, base, "therapist@riverside.test")
    expect(theo.get_by_role("heading", name="My patients")).to_be_visible()
    theo.goto(base + reverse("handoffs:list", kwargs={"patient_id": pid}))
    theo.get_by_role("link", name="New hand-off").click()
    theo.get_by_role("link", name="Session observation for the prescriber").click()
    expect(
        theo.get_by_role("heading", name="New hand-off: Session observation for the prescriber")
    ).to_be_visible()
    theo.get_by_label("To").select_option(label="Rita Prescriber (Prescriber)")
    theo.get_by_label("Side effect raised in session").check()
    theo.get_by_label("Observation").fill("Wakes at 3 a.m. every night since the sertraline increase.")
    theo.get_by_role("button", name="Send hand-off").click()
    expect(theo.get_by_text("Sent to Rita Prescriber. It is now their task.")).to_be_visible()
    assert Handoff.objects.get().status == HandoffStatus.OPEN

    rita = browser.new_context().new_page()
    sign_in(rita, base, "prescriber@riverside.test")
    rita.goto(base + reverse("handoff_tasks:mine"))
    expect(rita.get_by_role("heading", name="My tasks")).to_be_visible()
    todo = rita.get_by_role("region", name="To do")
    expect(todo.get_by_text("Wakes at 3 a.m. every night")).to_be_visible()
    todo.get_by_role("link", name="Session observation for the prescriber").click()
    rita.get_by_role("button", name="Acknowledge").click()
    expect(rita.get_by_text("Acknowledged. The sender can see you have it.")).to_be_visible()
    rita.get_by_label("What you did").fill("Moved the dose to the morning; review in two weeks.")
    rita.get_by_role("button", name="Mark done").click()
    expect(rita.get_by_text("Marked done. The sender has been told.")).to_be_visible()

    theo.goto(base + reverse("handoffs:list", kwargs={"patient_id": pid}))
    row = theo.get_by_role("row").filter(has_text="Session observation for the prescriber")
    expect(row.get_by_text("Done", exact=True)).to_be_visible()
    row.get_by_role("link", name="Session observation for the prescriber").click()
    expect(theo.get_by_text("Moved the dose to the morning; review in two weeks.")).to_be_visible()
    assert Handoff.objects.get().status == HandoffStatus.DONE


def test_a_patient_writes_a_message_on_a_phone_and_sees_help_for_crisis_words(live_server, browser, personas):
    base = live_server.url
    phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True).new_page()
    sign_in(phone, base, "pat@example.test")
    expect(phone.get_by_role("heading", name="Hello, Pat")).to_be_visible()
    phone.goto(base + reverse("portal_handoffs:messages"))
    phone.get_by_role("link", name="Write to my care team").click()
    expect(phone.get_by_text("Messages are not for emergencies.")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    phone.get_by_label("Subject").fill("Rough week")
    phone.get_by_label("Message").fill("Some nights I want to die.")
    phone.get_by_role("button", name="Send message").dblclick()
    expect(phone.get_by_role("heading", name="Help is available now")).to_be_visible()
    expect(phone.get_by_role("link", name="988")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    from tandem.handoffs.models import Message

    assert Message.objects.count() == 1
