from __future__ import annotations

import pytest
from django.urls import reverse

from tandem.audit.models import AuditEvent
from tandem.medications.models import Regimen, RegimenStatus


def start_data(**changes: str) -> dict[str, str]:
    data = {
        "drug": "Sertraline",
        "dose_amount": "50",
        "dose_unit": "mg",
        "route": "oral",
        "schedule_kind": "scheduled",
        "times": "08:00",
        "every_days": "1",
        "reason": "Start for depression",
        "indication": "Depression",
    }
    data.update(changes)
    return data


def url(personas, name: str, **kwargs) -> str:
    return reverse(name, kwargs={"patient_id": personas.patient.pk, **kwargs})


@pytest.mark.django_db
def test_a_prescriber_starts_a_medication_without_findings(personas):
    response = personas.client_for("prescriber").post(url(personas, "medications:start"), start_data())
    assert response.status_code == 302
    regimen = Regimen.objects.get()
    assert regimen.drug_key == "sertraline" and regimen.current.times == ["08:00"]
    page = personas.client_for("therapist").get(url(personas, "medications:list")).content.decode()
    assert "sertraline" in page.lower() and "50 mg at 08:00" in page


@pytest.mark.django_db
def test_checks_are_shown_before_saving_and_an_override_needs_a_reason(personas):
    client = personas.client_for("prescriber")
    client.post(url(personas, "medications:start"), start_data())
    phenelzine = start_data(
        drug="Phenelzine", dose_amount="15", times="08:00, 14:00, 20:00", reason="Refractory"
    )
    first = client.post(url(personas, "medications:start"), phenelzine)
    html = first.content.decode()
    assert first.status_code == 200 and "Prescribing checks" in html
    assert Regimen.objects.count() == 1  # nothing saved yet
    confirmed = dict(phenelzine, confirmed=first.context["form"].data["confirmed"])
    second = client.post(url(personas, "medications:start"), confirmed)
    assert second.status_code == 400
    assert "A check needs your reason to go ahead." in second.content.decode()
    third = client.post(
        url(personas, "medications:start"),
        dict(confirmed, override_reason="Sertraline stops today; washout planned"),
    )
    assert third.status_code == 302
    saved = Regimen.objects.get(drug_key="phenelzine").current
    assert saved.override_reason.startswith("Sertraline stops today")
    assert any(f["requires_override_reason"] for f in saved.findings)
    assert AuditEvent.objects.filter(entity_type="MedicationRequest", extra__override=True).exists()


@pytest.mark.django_db
def test_a_unit_that_does_not_fit_the_drug_and_bad_times_are_named(personas):
    client = personas.client_for("prescriber")
    response = client.post(url(personas, "medications:start"), start_data(dose_unit="mL", times="8 o'clock"))
    html = response.content.decode()
    assert response.status_code == 400
    assert "not a time of day like 08:00" in html
    response = client.post(url(personas, "medications:start"), start_data(dose_unit="mL"))
    assert "sertraline is prescribed in mg" in response.content.decode().lower()
    assert not Regimen.objects.exists()


@pytest.mark.django_db
def test_a_free_text_medicine_is_started_after_being_told_it_is_not_checked(personas):
    client = personas.client_for("prescriber")
    data = start_data(drug="Melatonin gummies", dose_amount="3", reason="Sleep")
    first = client.post(url(personas, "medications:start"), data)
    assert first.status_code == 200 and "Prescribing checks" in first.content.decode()
    response = client.post(
        url(personas, "medications:start"), dict(data, confirmed=first.context["form"].data["confirmed"])
    )
    assert response.status_code == 302
    assert Regimen.objects.get().drug_key == "free:Melatonin gummies"


@pytest.mark.django_db
def test_an_increase_a_hold_and_a_stop_make_versions(personas):
    client = personas.client_for("prescriber")
    client.post(url(personas, "medications:start"), start_data())
    regimen = Regimen.objects.get()
    change = url(personas, "medications:change", regimen_id=regimen.pk)
    base = {
        "dose_unit": "mg",
        "route": "oral",
        "schedule_kind": "scheduled",
        "times": "08:00",
        "every_days": "1",
    }
    wrong = client.post(change, {**base, "kind": "increase", "dose_amount": "25", "reason": "Not enough"})
    assert (
        "a increase must raise the dose" in wrong.content.decode()
        or "must raise the dose" in wrong.content.decode()
    )
    assert (
        client.post(
            change, {**base, "kind": "increase", "dose_amount": "100", "reason": "PHQ-9 fell 10%"}
        ).status_code
        == 302
    )
    assert (
        client.post(change, {**base, "kind": "hold", "dose_amount": "100", "reason": "Nausea"}).status_code
        == 302
    )
    assert (
        client.post(change, {**base, "kind": "stop", "dose_amount": "100", "reason": "Rash"}).status_code
        == 302
    )
    regimen.refresh_from_db()
    assert regimen.status == RegimenStatus.STOPPED and regimen.version_count == 4
    assert [v.kind for v in regimen.versions.order_by("number")] == ["start", "increase", "hold", "stop"]
    assert personas.client_for("prescriber").get(change).status_code == 200


@pytest.mark.django_db
def test_only_a_prescriber_on_the_team_starts_or_changes(personas):
    for who in ("therapist", "care_manager", "consultant", "consented", "outsider", "org_admin"):
        assert (
            personas.client_for(who).post(url(personas, "medications:start"), start_data()).status_code == 404
        ), who
    assert not Regimen.objects.exists()


@pytest.mark.django_db
def test_medication_changes_appear_on_the_timeline(personas):
    client = personas.client_for("prescriber")
    client.post(url(personas, "medications:start"), start_data(reason="Start for depression"))
    html = personas.client_for("therapist").get(url(personas, "patients:timeline")).content.decode()
    assert "sertraline: start" in html and "Start for depression" in html
