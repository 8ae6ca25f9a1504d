"""Fills in the portal: the patient reports a pick-up of one of their own medicines, bad input is
named by field and kept, a double submit records one fill, and only the patient gets in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tandem.audit.models import AuditEvent, Outcome
from tandem.lib.timezones import local_date
from tandem.medications.actions import do_start_regimen
from tandem.medications.fills import do_record_fill
from tandem.medications.models import Fill, FillSource

URL = "/portal/fills/"


def start(personas, patient=None, drug="sertraline"):
    return do_start_regimen(
        patient or personas.patient,
        drug_key=drug,
        drug_name=drug.title(),
        drug_classes=["ssri"],
        dose_amount=50,
        times=["08:00"],
        reason="Start",
        acting_user=personas.prescriber,
    )


def today(personas):
    return local_date(timezone.now(), personas.patient.time_zone)


def report(personas, chosen, **changes) -> dict[str, str]:
    data = {
        "regimen": str(chosen.pk),
        "fill_date": str(today(personas) - timedelta(days=1)),
        "days_supply": "30",
        "key": "pick-up-key-0001",
    }
    data.update(changes)
    return data


def test_the_url_name():
    assert reverse("portal:fills") == URL


@pytest.mark.django_db
def test_the_patient_reports_a_fill(personas):
    regimen = start(personas)
    client = personas.client_for("patient")
    page = client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Which medicine did you pick up?" in html and "Sertraline" in html
    assert f'max="{today(personas)}"' in html
    response = client.post(URL, report(personas, regimen))
    assert response.status_code == 302 and response["Location"] == URL
    fill = Fill.objects.get()
    assert (fill.patient, fill.regimen, fill.source) == (personas.patient, regimen, FillSource.PATIENT)
    assert fill.days_supply == 30 and fill.drug_class == "ssri" and fill.entered_by == personas.patient_user
    event = AuditEvent.objects.get(entity_type="MedicationDispense", action="create")
    assert event.actor_role == "patient" and event.extra["source"] == "patient"
    assert "Sertraline" in client.get(URL).content.decode()


@pytest.mark.django_db
def test_a_double_submit_records_one_fill(personas):
    regimen = start(personas)
    client = personas.client_for("patient")
    assert client.post(URL, report(personas, regimen)).status_code == 302
    assert client.post(URL, report(personas, regimen)).status_code == 302
    assert Fill.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "named", "message"),
    [
        ({"days_supply": "0"}, "How many days", "must be 1 to 365 days, not 0"),
        ({"days_supply": "-7"}, "How many days", "a fill lasts at least one day"),
        ({"days_supply": "400"}, "How many days", "not 400"),
        ({"days_supply": "a month"}, "How many days", "give a whole number of days"),
        ({"fill_date": "tomorrow"}, "Date picked up", "give a date like 2026-01-31"),
        ({"regimen": ""}, "Medicine", "choose the medicine"),
    ],
)
def test_bad_input_is_named_and_the_rest_kept(personas, changes, named, message):
    regimen = start(personas)
    response = personas.client_for("patient").post(URL, report(personas, regimen, **changes))
    html = response.content.decode()
    assert response.status_code == 400
    assert f"<strong>{named}:</strong> " in html and message in html
    assert f"Please check:</strong> {named}." in html
    assert 'value="pick-up-key-0001"' in html
    assert not Fill.objects.exists()


@pytest.mark.django_db
def test_a_date_in_the_future_is_refused(personas):
    regimen = start(personas)
    tomorrow = str(today(personas) + timedelta(days=1))
    response = personas.client_for("patient").post(URL, report(personas, regimen, fill_date=tomorrow))
    assert response.status_code == 400
    assert "<strong>Date picked up:</strong> is in the future" in response.content.decode()
    assert f'value="{tomorrow}"' in response.content.decode()
    assert not Fill.objects.exists()


@pytest.mark.django_db
def test_another_patients_medicine_cannot_be_chosen(personas):
    start(personas)
    theirs = start(personas, patient=personas.other_patient)
    response = personas.client_for("patient").post(URL, report(personas, theirs))
    assert response.status_code == 400
    assert "<strong>Medicine:</strong>" in response.content.decode()
    assert not Fill.objects.exists()


@pytest.mark.django_db
def test_a_patient_sees_only_their_own_fills(personas):
    start(personas)
    start(personas, patient=personas.other_patient, drug="escitalopram")
    do_record_fill(
        personas.other_patient,
        regimen_or_drug="escitalopram",
        fill_date=today(personas),
        days_supply=30,
        source=FillSource.STAFF,
        acting_user=personas.colleague,
    )
    html = personas.client_for("patient").get(URL).content.decode()
    assert "Escitalopram" not in html and "escitalopram" not in html
    assert "No pick-ups recorded yet." in html


@pytest.mark.django_db
def test_without_medicines_there_is_nothing_to_choose(personas):
    html = personas.client_for("patient").get(URL).content.decode()
    assert "You have no medicines on your list" in html


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["prescriber", "care_manager", "consented", "org_admin", "outsider"])
def test_clinicians_do_not_get_in_and_are_audited(personas, persona):
    start(personas)
    client = personas.client_for(persona)
    assert client.get(URL).status_code == 404
    assert (
        client.post(URL, {"regimen": "1", "fill_date": "2026-01-01", "days_supply": "30"}).status_code == 404
    )
    assert AuditEvent.objects.filter(outcome=Outcome.DENIED, entity_type="MedicationDispense").count() == 2
    assert not Fill.objects.exists()
