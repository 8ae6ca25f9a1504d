"""On a phone (360 px): the patient rates a visit and checks in; the therapist reads the
feedback and the check-in trend."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, expect

from tandem.feedback.models import CheckIn, VisitFeedback
from tandem.feedback.tests.factories import visit
from tests.browser.test_sign_in import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_patient_rates_a_visit_and_checks_in_on_a_phone(live_server, browser: Browser, personas):
    session = visit(personas.patient, personas.therapist, days_ago=1)
    base = live_server.url
    phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    pat = phone.new_page()
    sign_in(pat, base, "pat@example.test")
    expect(pat.get_by_role("heading", name="Hello, Pat")).to_be_visible()

    pat.goto(base + reverse("portal_feedback:visits"))
    pat.get_by_role("link", name="Give feedback").click()
    expect(pat.get_by_role("heading", name="How was your visit?")).to_be_visible()
    assert pat.evaluate("document.documentElement.scrollWidth") <= 360
    heard = pat.get_by_role("group", name="I felt heard and understood")
    heard.get_by_text("8", exact=True).click()
    pat.get_by_role("group", name="We worked on what I wanted to work on").get_by_text(
        "7", exact=True
    ).click()
    # "The approach fits me" is left out: the form comes back naming it, keeping the rest.
    pat.get_by_role("group", name="Overall, this visit was…").get_by_text("9", exact=True).click()
    pat.get_by_label("What is working for me").fill("The weekly plan")
    pat.get_by_role("button", name="Send feedback").click()
    expect(pat.get_by_text("The approach fits me: choose a number from 0 to 10")).to_be_visible()
    expect(pat.get_by_label("What is working for me")).to_have_value("The weekly plan")
    expect(heard.get_by_role("radio", name="8")).to_be_checked()
    pat.get_by_role("group", name="The approach fits me").get_by_text("6", exact=True).click()
    pat.get_by_role("button", name="Send feedback").click()
    expect(pat.get_by_role("status").filter(has_text="Thank you")).to_be_visible()

    pat.goto(base + reverse("portal_feedback:checkin"))
    assert pat.evaluate("document.documentElement.scrollWidth") <= 360
    pat.get_by_role("group", name="Mood today").get_by_text("6", exact=True).click()
    pat.get_by_label("Hours slept last night").fill("7.5")
    pat.get_by_label("One line about today (optional)").fill("Walked to work")
    pat.get_by_role("button", name="Save check-in").click()
    expect(pat.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    expect(pat.get_by_role("heading", name="Your last 8 weeks")).to_be_visible()
    phone.close()

    feedback = VisitFeedback.objects.get(session=session)
    assert (feedback.heard, feedback.goals, feedback.approach, feedback.overall) == (8, 7, 6, 9)
    checkin = CheckIn.objects.get()
    assert (checkin.mood, checkin.anxiety, str(checkin.sleep_hours)) == (6, None, "7.5")

    theo = browser.new_page()
    sign_in(theo, base, "therapist@riverside.test")
    theo.goto(base + reverse("feedback:list", kwargs={"patient_id": personas.patient.pk}))
    expect(theo.get_by_text("The weekly plan")).to_be_visible()
    theo.get_by_role("link", name="Check-ins").click()
    expect(theo.get_by_role("heading", name="Mood, anxiety and sleep")).to_be_visible()
    expect(theo.get_by_role("cell", name="Walked to work")).to_be_visible()
