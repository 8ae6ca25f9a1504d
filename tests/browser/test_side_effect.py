"""A patient on a phone takes a dose and reports a side effect; the prescriber sees the alert,
opens the report and responds; the alert is resolved and the patient reads the response."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, expect

from tandem.collab.models import Alert, AlertStatus
from tandem.medications.actions import do_start_regimen
from tandem.medications.models import SideEffectReport
from tests.browser.test_sign_in import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def a_time_earlier_today(tz) -> str:
    """A dose time that has already passed today in the patient's zone (midnight just after it)."""
    now = timezone.localtime(timezone.now(), tz)
    earlier = now - timedelta(minutes=30)
    if earlier.date() != now.date():
        earlier = datetime.combine(now.date(), time(0, 0), tzinfo=tz)
    return earlier.strftime("%H:%M")


def test_a_patient_reports_a_side_effect_and_reads_the_prescribers_response(
    live_server, browser: Browser, personas
):
    patient = personas.patient
    do_start_regimen(
        patient,
        drug_key="sertraline",
        drug_name="Sertraline",
        drug_classes=["ssri"],
        dose_amount=50,
        times=[a_time_earlier_today(patient.tz)],
        reason="Start",
        acting_user=personas.prescriber,
        role="prescriber",
        effective_at=timezone.now() - timedelta(days=3),
    )
    base = live_server.url

    # The patient, on a phone: today's dose, then a side effect.
    phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    pat = phone.new_page()
    sign_in(pat, base, "pat@example.test")
    expect(pat.get_by_role("heading", name="Hello, Pat")).to_be_visible()
    pat.goto(base + reverse("portal:doses"))
    expect(pat.get_by_role("heading", name="Today's doses")).to_be_visible()
    pat.get_by_role("button", name="Taken", exact=True).click()
    expect(pat.get_by_role("status").filter(has_text="Taken at")).to_be_visible()
    assert pat.evaluate("document.documentElement.scrollWidth") <= 360

    pat.goto(base + reverse("portal:home"))
    pat.get_by_role("link", name="Report a side effect").click()
    expect(pat.get_by_role("heading", name="Report a side effect")).to_be_visible()
    expect(pat.get_by_text("Your prescriber Rita Prescriber will see this.")).to_be_visible()
    pat.get_by_label("Which medicine do you think is causing it?").select_option(label="Sertraline")
    pat.get_by_label("Headache").check()
    pat.get_by_label("Trouble sleeping").check()
    for question, answer in [
        ("How often have you had side effects", "4"),
        ("How strong were the side effects", "4"),
        ("How much do the side effects get in the way", "5"),
    ]:
        pat.get_by_role("group", name=question).get_by_label(answer, exact=True).check()
    pat.get_by_label("Tell us more (optional)").fill("I can't sleep and my head hurts all day.")
    assert pat.evaluate("document.documentElement.scrollWidth") <= 360
    pat.get_by_role("button", name="Send to my prescriber").click()
    expect(pat.get_by_role("heading", name="Thank you — your report was sent")).to_be_visible()
    expect(
        pat.get_by_role("status").filter(has_text="Your prescriber Rita Prescriber will see this.")
    ).to_be_visible()
    expect(pat.get_by_text("No response yet.")).to_be_visible()
    assert pat.evaluate("document.documentElement.scrollWidth") <= 360
    report = SideEffectReport.objects.get()
    assert (report.burden, report.severity, report.symptoms) == (5, "high", ["headache", "sleep"])

    # The prescriber sees the alert, opens the report and responds.
    desk = browser.new_context()
    rita = desk.new_page()
    sign_in(rita, base, "prescriber@riverside.test")
    expect(rita.get_by_role("heading", name="My patients")).to_be_visible()
    rita.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
    alert_card = rita.get_by_role("listitem").filter(has_text="Side effect reported (Sertraline)")
    expect(alert_card).to_be_visible()
    expect(alert_card).to_contain_text("FIBSER burden 5 of 6")
    rita.goto(base + reverse("medications:side_effects", kwargs={"patient_id": patient.pk}))
    rita.get_by_role("table").get_by_role("link").first.click()
    expect(rita.get_by_role("heading", name="Why it was triaged high")).to_be_visible()
    expect(rita.get_by_text("§A7 FIBSER decision rule").first).to_be_visible()
    rita.get_by_label("Adjust the dose").check()
    rita.get_by_label("Note to the patient").fill(
        "Take 25 mg in the morning from tomorrow; I will call you Friday."
    )
    rita.get_by_role("button", name="Record response").click()
    expect(rita.get_by_text("Response recorded.")).to_be_visible()
    alert = Alert.objects.get(kind="side_effect")
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_by == personas.prescriber
    rita.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
    expect(rita.get_by_text("No open alerts for your patients.")).to_be_visible()

    # The patient reads the response.
    pat.goto(base + reverse("portal:side_effects"))
    expect(pat.get_by_text("Adjust the dose")).to_be_visible()
    expect(pat.get_by_text("Take 25 mg in the morning from tomorrow")).to_be_visible()
    assert pat.evaluate("document.documentElement.scrollWidth") <= 360
    desk.close()
    phone.close()
