"""What the patient sees: crisis resources and their safety plan first, per organisation and country."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import reverse

from tandem.audit.models import AuditEvent
from tandem.plans.actions import do_save_safety_document
from tandem.safety.actions import SafetyError, do_set_crisis_settings
from tandem.safety.crisis import COUNTRY_LINES, resources_for
from tandem.safety.tests.helpers import portal_phq9_post, record_phq9

pytestmark = pytest.mark.django_db


def submit(personas, item9: int, key: str = "portal-key-0001"):
    client = personas.client_for("patient")
    return client.post(
        reverse("portal_measures:answer", kwargs={"instrument": "phq-9"}),
        portal_phq9_post(item9, key),
        follow=True,
    )


def test_the_confirmation_leads_with_the_crisis_line_and_the_safety_plan(personas):
    html = submit(personas, 1).content.decode()
    crisis = html.index("Help is available now")
    assert crisis < html.index("Thank you — your answers were sent")
    assert crisis < html.index('id="my-plan-h"') < html.index("Thank you — your answers were sent")
    assert 'href="tel:988"' in html and "988 Suicide &amp; Crisis Lifeline" in html
    assert 'href="tel:911"' in html
    assert "You have not written a safety plan yet" in html
    assert AuditEvent.objects.filter(
        entity_type="SafetyPlan", action="read", patient=personas.patient
    ).exists()


def test_the_patients_own_safety_plan_is_shown(personas):
    do_save_safety_document(
        personas.patient,
        "safety",
        content={"warning_signs": ["Not sleeping for days"], "coping_strategies": ["Walk the dog"]},
        reason="Written in session",
        acting_user=personas.therapist,
        role="therapist",
        base_revision=0,
    )
    html = submit(personas, 2).content.decode()
    assert "Not sleeping for days" in html and "Walk the dog" in html
    assert html.index("Help is available now") < html.index("Not sleeping for days")


def test_no_crisis_screen_for_a_0_on_item_9(personas):
    html = submit(personas, 0).content.decode()
    assert "Help is available now" not in html
    assert "Thank you — your answers were sent" in html


def test_a_uk_organisation_shows_samaritans_and_111_not_988(personas):
    do_set_crisis_settings(personas.home, country="GB", own_lines=[], acting_user=personas.org_admin)
    html = submit(personas, 1).content.decode()
    assert 'href="tel:116123"' in html and 'href="tel:111"' in html and 'href="tel:999"' in html
    assert "tel:988" not in html.split("Thank you")[0]


def test_an_australian_time_zone_shows_lifeline_without_settings(personas):
    personas.patient.time_zone = "Australia/Sydney"
    personas.patient.save(update_fields=["time_zone"])
    resources = resources_for(personas.patient)
    assert resources.country == "AU" and resources.first.number == "13 11 14"
    assert resources.emergency is not None and resources.emergency.number == "000"


def test_the_organisations_own_lines_come_first(personas):
    do_set_crisis_settings(
        personas.home,
        country="US",
        own_lines=[{"name": "Riverside mobile crisis team", "number": "555-0142", "how": "call"}],
        acting_user=personas.org_admin,
    )
    personas.home.crisis_line = "1-800-555-0199"
    personas.home.save(update_fields=["crisis_line"])
    numbers = [line.number for line in resources_for(personas.patient).lines]
    assert numbers == ["1-800-555-0199", "555-0142", "988", "911"]


def test_the_us_default_988_is_not_shown_in_another_country(personas):
    do_set_crisis_settings(personas.home, country="AU", own_lines=[], acting_user=personas.org_admin)
    assert "988" not in [line.number for line in resources_for(personas.patient).lines]


def test_every_default_line_cites_a_source_and_unverified_ones_are_marked():
    for lines in COUNTRY_LINES.values():
        for line in lines:
            assert line.source
    assert COUNTRY_LINES["US"][0].verified and not COUNTRY_LINES["AU"][0].verified


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"country": "ZZ", "own_lines": []}, "country"),
        ({"country": "US", "own_lines": [{"name": "x"}]}, "own_lines"),
    ],
)
def test_bad_crisis_settings_name_the_field(personas, kwargs, field):
    with pytest.raises(SafetyError) as caught:
        do_set_crisis_settings(personas.home, acting_user=personas.org_admin, **kwargs)
    assert caught.value.field == field


def test_the_help_now_page_is_the_patients_own(personas):
    html = personas.client_for("patient").get(reverse("portal_safety:now")).content.decode()
    assert "Help is available now" in html and 'href="tel:988"' in html
    assert personas.client_for("therapist").get(reverse("portal_safety:now")).status_code == 404


def render_banner(patient) -> str:
    return Template("{% load safety_tags %}{% safety_banner patient %}").render(Context({"patient": patient}))


def test_the_home_banner_shows_while_a_flag_is_open(personas):
    assert "Help is available now" not in render_banner(personas.patient)
    record_phq9(personas, 1)
    html = render_banner(personas.patient)
    assert "Help is available now" in html and 'href="tel:988"' in html
    assert reverse("portal_safety:now") in html


def test_the_clinician_header_badge_shows_an_open_flag(personas):
    template = Template("{% load safety_tags %}{% safety_flag_badge patient %}")
    assert "Safety flag open" not in template.render(Context({"patient": personas.patient}))
    record_phq9(personas, 1)
    assert "Safety flag open" in template.render(Context({"patient": personas.patient}))
