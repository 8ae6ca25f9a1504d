"""The patient answers a PHQ-9 on a phone with item 9 = 1: the crisis screen shows at once. The
care manager sees the urgent alert; nobody acknowledges it, and after the window it escalates.

Time is advanced by running the escalation job function in the test process with a later `now`
(the alert's own `ack_due_at`), against the live server's database; the server thread keeps the
real clock."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, expect

from tandem.collab.escalation import escalate_due
from tandem.collab.models import Alert
from tests.browser.test_sign_in import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_item_9_shows_the_crisis_screen_and_an_unacknowledged_alert_escalates(
    live_server, browser: Browser, personas
):
    base = live_server.url

    phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    pat = phone.new_page()
    sign_in(pat, base, "pat@example.test")
    expect(pat.get_by_role("heading", name="Hello, Pat")).to_be_visible()
    pat.goto(base + reverse("portal_measures:answer", kwargs={"instrument": "phq-9"}))
    for n in range(1, 9):
        pat.get_by_role("group", name=re.compile(rf"^{n}\. ")).get_by_label("Not at all").check()
    pat.get_by_role("group", name=re.compile(r"^9\. ")).get_by_label("Several days").check()
    assert pat.evaluate("document.documentElement.scrollWidth") <= 360
    pat.get_by_role("button", name="Send my answers").click()

    crisis = pat.get_by_role("heading", name="Help is available now")
    expect(crisis).to_be_in_viewport()
    expect(pat.get_by_role("link", name="Call or text 988")).to_be_in_viewport()
    expect(pat.get_by_role("heading", name="My safety plan")).to_be_visible()
    expect(pat.get_by_role("link", name="Open my safety plan")).to_be_visible()
    thanks = pat.get_by_role("heading", name="Thank you — your answers were sent")
    crisis_box, thanks_box = crisis.bounding_box(), thanks.bounding_box()
    assert crisis_box is not None and thanks_box is not None and crisis_box["y"] < thanks_box["y"]
    assert pat.evaluate("document.documentElement.scrollWidth") <= 360

    desk = browser.new_context()
    cara = desk.new_page()
    sign_in(cara, base, "care@riverside.test")
    expect(cara.get_by_role("heading", name="My patients")).to_be_visible()
    cara.goto(base + reverse("collab:inbox"))
    card = cara.locator("li.card").filter(has_text="Safety screen positive — PHQ-9")
    expect(card).to_be_visible()
    expect(card.get_by_text("Urgent", exact=True)).to_be_visible()
    expect(card.get_by_text("Acknowledge by")).to_be_visible()
    expect(card.get_by_text("Escalated: level")).to_have_count(0)

    # Nobody acknowledges; the window ends.
    alert = Alert.objects.get(kind="safety")
    assert alert.ack_due_at is not None
    assert escalate_due(alert.ack_due_at).escalated == 1

    cara.reload()
    card = cara.locator("li.card").filter(has_text="Safety screen positive — PHQ-9")
    expect(card.get_by_text("Escalated: level 1")).to_be_visible()
    cara.goto(base + reverse("collab:patient_alerts", kwargs={"patient_id": personas.patient.pk}))
    expect(cara.get_by_text("Level 1 — Care manager: Cara Manager")).to_be_visible()
    cara.goto(base + reverse("notifications"))
    expect(cara.get_by_text("Not acknowledged in time").first).to_be_visible()

    # Acknowledging stops it: a later run escalates nothing more.
    cara.goto(base + reverse("collab:inbox"))
    card = cara.locator("li.card").filter(has_text="Safety screen positive")
    card.get_by_role("button", name="Acknowledge").click()
    expect(card.get_by_text("Acknowledged by Cara Manager")).to_be_visible()  # the card, swapped in
    alert.refresh_from_db()
    assert alert.status == "acknowledged"
    assert escalate_due(alert.ack_due_at).escalated == 0
