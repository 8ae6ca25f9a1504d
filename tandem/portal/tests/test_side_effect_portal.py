"""Side effects in the portal: own reports only, bad input named by field and kept, one report
per double submit, what to do now when urgent, and the prescriber's response."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tandem.audit.models import AuditEvent, Outcome
from tandem.collab.models import Alert
from tandem.medications.actions import do_start_regimen
from tandem.medications.models import SideEffectReport
from tandem.medications.side_effect_actions import do_report_side_effect, do_respond_to_side_effect

EVERYONE = {
    "prescriber",
    "therapist",
    "care_manager",
    "consultant",
    "org_admin",
    "patient",
    "other_patient",
    "colleague",
    "outsider",
    "consented",
}
NOT_PATIENTS = sorted(EVERYONE - {"patient", "other_patient"})


def last_seq() -> int:
    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else 0


def assert_denied(response, before: int) -> None:
    assert response.status_code == 404
    assert AuditEvent.objects.filter(outcome=Outcome.DENIED, seq__gt=before).exists(), "denial not audited"


def start(personas, key="lamotrigine", name="Lamotrigine", classes=("mood_stabiliser",)):
    return do_start_regimen(
        personas.patient,
        drug_key=key,
        drug_name=name,
        drug_classes=list(classes),
        dose_amount=25,
        times=["08:00"],
        reason="Start",
        acting_user=personas.prescriber,
        role="prescriber",
        effective_at=timezone.now() - timedelta(days=3),
    )


def pats_report(personas, **changes):
    values = {
        "regimen": None,
        "frequency": 2,
        "intensity": 2,
        "burden": 2,
        "symptoms": ["headache"],
        "text": "Pat's own words",
        "idempotency_key": "pat-report-1",
        "acting_user": personas.patient_user,
    }
    values.update(changes)
    report, _ = do_report_side_effect(personas.patient, **values)
    return report


def form_data(regimen="not_sure", **changes) -> dict:
    data = {
        "key": "form-key-0001",
        "regimen": str(regimen),
        "symptoms": ["nausea"],
        "frequency": "3",
        "intensity": "2",
        "burden": "2",
        "text": "",
    }
    data.update(changes)
    return data


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(EVERYONE))
@pytest.mark.parametrize("name", ["portal:side_effect", "portal:side_effects"])
def test_only_patients_open_the_side_effect_pages_and_see_only_their_own(personas, name, persona):
    report = pats_report(personas)
    before = last_seq()
    response = personas.client_for(persona).get(reverse(name))
    if persona in ("patient", "other_patient"):
        assert response.status_code == 200
        html = response.content.decode()
        link = reverse("portal:side_effect_detail", args=[report.pk])
        assert (link in html) == (persona == "patient" and name == "portal:side_effects")
        assert "Oli" not in html if persona == "patient" else "Pat Patient" not in html
    else:
        assert_denied(response, before)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(EVERYONE - {"patient"}))
def test_a_report_is_shown_to_its_patient_only(personas, persona):
    report = pats_report(personas)
    before = last_seq()
    response = personas.client_for(persona).get(reverse("portal:side_effect_detail", args=[report.pk]))
    assert_denied(response, before)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", NOT_PATIENTS)
def test_no_clinician_or_admin_can_report_in_the_portal(personas, persona):
    before = last_seq()
    response = personas.client_for(persona).post(reverse("portal:side_effect"), form_data())
    assert_denied(response, before)
    assert not SideEffectReport.objects.exists()


@pytest.mark.django_db
def test_the_form_offers_the_patients_current_medicines_or_not_sure(personas):
    regimen = start(personas)
    html = personas.client_for("patient").get(reverse("portal:side_effect")).content.decode()
    assert f'<option value="{regimen.pk}">Lamotrigine</option>' in html
    assert "I&#x27;m not sure" in html
    assert "Your prescriber Rita Prescriber will see this." in html
    assert re.search(r'<input type="hidden" name="key" value="[^"]{16,}"', html)
    for label in (
        "Blistering or peeling skin",
        "Muscle twitching or jerking",
        "Unsteady walking or slurred speech",
    ):
        assert label in html
    assert "0 — never" in html and "6 — I cannot do my usual things" in html
    other = personas.client_for("other_patient").get(reverse("portal:side_effect")).content.decode()
    assert "Lamotrigine" not in other


@pytest.mark.django_db
def test_a_report_is_sent_once_however_often_it_is_submitted(personas):
    regimen = start(personas, "sertraline", "Sertraline", ["ssri"])
    client = personas.client_for("patient")
    first = client.post(reverse("portal:side_effect"), form_data(regimen.pk))
    second = client.post(reverse("portal:side_effect"), form_data(regimen.pk))
    report = SideEffectReport.objects.get()
    target = reverse("portal:side_effect_detail", args=[report.pk]) + "?sent=1"
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == target
    assert report.regimen == regimen and report.symptoms == ["nausea"] and report.frequency == 3
    assert Alert.objects.filter(kind="side_effect").count() == 1
    html = client.get(target).content.decode()
    assert "Thank you — your report was sent" in html
    assert "Your prescriber Rita Prescriber will see this." in html
    assert "What to do now" not in html


@pytest.mark.django_db
def test_not_sure_records_no_medicine(personas):
    start(personas)
    personas.client_for("patient").post(reverse("portal:side_effect"), form_data("not_sure"))
    assert SideEffectReport.objects.get().regimen is None


@pytest.mark.django_db
def test_a_rash_on_lamotrigine_shows_what_to_do_now_at_once(personas):
    regimen = start(personas)
    client = personas.client_for("patient")
    response = client.post(
        reverse("portal:side_effect"), form_data(regimen.pk, symptoms=["rash"]), follow=True
    )
    html = response.content.decode()
    assert SideEffectReport.objects.get().severity == "urgent"
    assert "What to do now" in html
    assert "contact your prescriber Rita Prescriber today" in html
    assert 'call <a href="tel:911">911</a> or go to the nearest emergency department now' in html
    assert 'href="tel:988"' in html
    assert html.index("What to do now") < html.index("What you reported")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"burden": ""}, "<strong>How much it gets in the way:</strong> choose a number from 0 to 6"),
        ({"frequency": "9"}, "<strong>How often:</strong> choose a number from 0 to 6"),
        ({"regimen": ""}, "<strong>Medicine:</strong> choose a medicine"),
        ({"regimen": "999999"}, "<strong>Medicine:</strong>"),
        ({"symptoms": [], "text": ""}, "<strong>Symptoms:</strong> tick at least one symptom"),
        ({"symptoms": ["other"], "text": ""}, "<strong>Tell us more:</strong> describe the other symptom"),
    ],
)
def test_bad_input_names_the_field_and_keeps_what_was_typed(personas, changes, named):
    data = form_data(
        **{"symptoms": ["tremor", "other"], "text": "My hands shake", "intensity": "4", **changes}
    )
    response = personas.client_for("patient").post(reverse("portal:side_effect"), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert named in html
    assert not SideEffectReport.objects.exists()
    assert 'name="key" value="form-key-0001"' in html
    if "text" not in changes:
        assert "My hands shake</textarea>" in html
    assert 'name="intensity" value="4" checked' in html
    if "symptoms" not in changes:
        assert re.search(r'name="symptoms" value="tremor"[^>]*checked', html)


@pytest.mark.django_db
def test_a_form_without_a_usable_key_is_not_recorded_and_gets_a_fresh_one(personas):
    response = personas.client_for("patient").post(reverse("portal:side_effect"), form_data(key=""))
    html = response.content.decode()
    assert response.status_code == 400 and "could not be sent" in html
    assert re.search(r'name="key" value="[^"]{16,}"', html)
    assert not SideEffectReport.objects.exists()


@pytest.mark.django_db
def test_the_patient_sees_the_prescribers_response(personas):
    report = pats_report(personas, symptoms=["nausea"], burden=5)
    client = personas.client_for("patient")
    assert "No response yet." in client.get(reverse("portal:side_effects")).content.decode()
    do_respond_to_side_effect(
        report,
        response="adjust",
        note="Take it with food",
        acting_user=personas.prescriber,
        role="prescriber",
    )
    for url in (reverse("portal:side_effects"), reverse("portal:side_effect_detail", args=[report.pk])):
        html = client.get(url).content.decode()
        assert "Adjust the dose" in html and "Take it with food" in html and "Rita Prescriber" in html


@pytest.mark.django_db
def test_an_answered_urgent_report_no_longer_says_what_to_do_now(personas):
    start(personas)
    report = pats_report(personas, symptoms=["rash"])
    client = personas.client_for("patient")
    assert (
        "What to do now"
        in client.get(reverse("portal:side_effect_detail", args=[report.pk])).content.decode()
    )
    do_respond_to_side_effect(
        report,
        response="see",
        note="Come in at 3 pm today",
        acting_user=personas.prescriber,
        role="prescriber",
    )
    assert (
        "What to do now"
        not in client.get(reverse("portal:side_effect_detail", args=[report.pk])).content.decode()
    )


@pytest.mark.django_db
def test_the_home_page_links_to_the_report_form(personas):
    html = personas.client_for("patient").get(reverse("portal:home")).content.decode()
    assert f'href="{reverse("portal:side_effect")}"' in html and "Report a side effect" in html


@pytest.mark.django_db
def test_the_list_costs_the_same_number_of_queries_for_1_or_10_reports(personas):
    client = personas.client_for("patient")
    pats_report(personas, idempotency_key="pat-report-0")
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("portal:side_effects"))
    for n in range(1, 10):
        pats_report(personas, idempotency_key=f"pat-report-{n}")
    with CaptureQueriesContext(connection) as ten:
        client.get(reverse("portal:side_effects"))
    assert len(ten) == len(one)


@pytest.mark.django_db
def test_every_control_of_the_form_is_labelled(personas):
    from tests.test_accessibility import unlabelled

    start(personas)
    client = personas.client_for("patient")
    assert unlabelled(client.get(reverse("portal:side_effect")).content.decode()) == []
    bad = client.post(reverse("portal:side_effect"), form_data(burden=""))
    assert unlabelled(bad.content.decode()) == []
