"""A patient on a phone fills half a thought record, closes the tab, comes back to the draft,
finishes and sends it; the therapist reads it and comments; the patient reads the comment. And a
draft typed while the connection is lost is restored from the device and then saved."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, expect

from tandem.practice.models import Entry, EntryStatus
from tandem.practice.tests.factories import assign
from tests.browser.test_sign_in import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def field(page, name: str):
    return page.locator(f'[name="{name}"]')


def test_a_thought_record_survives_a_closed_tab_is_sent_and_commented(
    live_server, browser: Browser, personas
):
    assignment = assign(personas, instructions="When your mood drops, write it down.")
    base = live_server.url
    fill_url = base + reverse("portal_practice:fill", kwargs={"assignment_id": assignment.pk})

    phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    pat = phone.new_page()
    sign_in(pat, base, "pat@example.test")
    expect(pat.get_by_role("heading", name="Hello, Pat")).to_be_visible()
    pat.goto(base + reverse("portal_practice:list"))
    pat.get_by_role("link", name="Fill in thought record").click()
    expect(pat.get_by_role("heading", name="Thought record")).to_be_visible()
    assert pat.evaluate("document.documentElement.scrollWidth") <= 360

    # Half of it, then the tab is closed.
    field(pat, "situation").fill("My sister did not call back on Friday")
    field(pat, "emotions-0-name").fill("Sad")
    field(pat, "emotions-0-rating").fill("75")
    field(pat, "thoughts-0-text").fill("Nobody has time for me")
    expect(pat.locator("#draft-status")).to_contain_text("Draft saved at")
    pat.close()

    # Back in a new tab: the draft is there.
    pat = phone.new_page()
    pat.goto(fill_url)
    expect(pat.locator("#draft-status")).to_contain_text("is restored")
    expect(field(pat, "situation")).to_have_value("My sister did not call back on Friday")
    expect(field(pat, "emotions-0-rating")).to_have_value("75")
    expect(field(pat, "thoughts-0-text")).to_have_value("Nobody has time for me")

    # A rating out of range is refused by its field; nothing typed is lost.
    pat.get_by_label("Hot thought: thought 1").check()
    field(pat, "evidence_for").fill("She did not answer")
    field(pat, "evidence_against").fill("She called on Tuesday for an hour")
    field(pat, "balanced").fill("She is probably busy on Fridays")
    field(pat, "belief").fill("170")
    field(pat, "emotions-0-after").fill("40")
    pat.get_by_role("button", name="Send to my care team").click()
    expect(pat.get_by_text("170 is out of range: enter a whole number from 0 to 100")).to_be_visible()
    expect(field(pat, "evidence_against")).to_have_value("She called on Tuesday for an hour")
    field(pat, "belief").fill("70")
    pat.get_by_role("button", name="Send to my care team").click()
    expect(pat.get_by_role("heading", name="Thank you — sent to your care team")).to_be_visible()
    expect(pat.get_by_text("No comment yet.")).to_be_visible()
    assert pat.evaluate("document.documentElement.scrollWidth") <= 360
    entry = Entry.objects.get(status=EntryStatus.SUBMITTED)
    assert entry.data["belief"] == 70 and entry.data["thoughts"][0]["hot"] is True
    assert Entry.objects.count() == 1
    # The device's copy of the sent form is gone.
    assert pat.evaluate("Object.keys(localStorage).filter(k => k.startsWith('tandem.practice.')).length") == 0

    # The therapist, at a desk, reads it and comments.
    desk = browser.new_context()
    theo = desk.new_page()
    sign_in(theo, base, "therapist@riverside.test")
    expect(theo.get_by_role("heading", name="My patients")).to_be_visible()
    theo.goto(base + reverse("practice:list", kwargs={"patient_id": personas.patient.pk}))
    theo.get_by_role("link", name="Thought record —").first.click()
    expect(theo.get_by_text("My sister did not call back on Friday")).to_be_visible()
    theo.get_by_label("Your comment").fill(
        "Good catch of the hot thought. Try the evidence against first next time."
    )
    theo.get_by_role("button", name="Save comment").click()
    expect(theo.get_by_text("Comment saved.")).to_be_visible()

    # The patient reads the comment.
    pat.goto(base + reverse("portal_practice:list"))
    expect(pat.get_by_text("Theo Therapist commented")).to_be_visible()
    pat.get_by_role("link", name="Thought record —").first.click()
    expect(pat.get_by_text("Good catch of the hot thought.")).to_be_visible()
    assert pat.evaluate("document.documentElement.scrollWidth") <= 360
    desk.close()
    phone.close()


def test_a_draft_typed_offline_is_restored_from_the_device_and_saved(live_server, browser: Browser, personas):
    assignment = assign(personas)
    base = live_server.url
    fill_url = base + reverse("portal_practice:fill", kwargs={"assignment_id": assignment.pk})
    phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    pat = phone.new_page()
    sign_in(pat, base, "pat@example.test")
    expect(pat.get_by_role("heading", name="Hello, Pat")).to_be_visible()
    pat.goto(fill_url)
    field(pat, "situation").fill("Train was cancelled")
    expect(pat.locator("#draft-status")).to_contain_text("Draft saved at")

    # The connection drops while the patient types.
    phone.set_offline(True)
    field(pat, "evidence_for").fill("I was late twice this month")
    field(pat, "emotions-0-name").fill("Frustrated")
    expect(pat.locator("#draft-status")).to_contain_text("No connection")
    draft = Entry.objects.get()
    assert "evidence_for" not in draft.data  # the server has only what came before
    pat.close()

    # Back online, the form opened again: the device's newer copy is restored and saved.
    phone.set_offline(False)
    pat = phone.new_page()
    pat.goto(fill_url)
    expect(pat.locator("#draft-status")).to_contain_text("Draft saved at")
    expect(field(pat, "evidence_for")).to_have_value("I was late twice this month")
    expect(field(pat, "emotions-0-name")).to_have_value("Frustrated")
    expect(field(pat, "situation")).to_have_value("Train was cancelled")
    draft.refresh_from_db()
    assert draft.data["evidence_for"] == "I was late twice this month"
    assert draft.data["emotions-0-name"] == "Frustrated"
    assert Entry.objects.count() == 1
    phone.close()
