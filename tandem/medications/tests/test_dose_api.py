from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tandem.accounts.actions import do_create_api_token
from tandem.audit.models import AuditEvent
from tandem.medications.actions import do_start_regimen
from tandem.medications.models import DoseLog


def prn(personas):
    return do_start_regimen(
        personas.patient,
        drug_key="hydroxyzine",
        drug_name="hydroxyzine",
        drug_classes=["anxiolytic"],
        dose_amount=25,
        schedule_kind="prn",
        prn_max_per_day=4,
        reason="Anxiety",
        acting_user=personas.prescriber,
        effective_at=timezone.now() - timedelta(days=1),
    )


def app(user, scopes="user/MedicationAdministration.c") -> Client:
    """A client that authenticates as a phone app would: with the user's bearer token."""
    _, raw = do_create_api_token(user, scopes=scopes, expires_at=None)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.mark.django_db
def test_a_patient_app_records_a_dose_once_per_key(personas):
    regimen = prn(personas)
    client = app(personas.patient_user)
    body = {
        "regimen": regimen.pk,
        "status": "prn",
        "reason": "Panic at work",
        "idempotency_key": "app-00000001",
    }
    first = client.post("/api/doses", body, content_type="application/json")
    again = client.post("/api/doses", body, content_type="application/json")
    assert first.status_code == 201 and first.json()["created"] is True
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert DoseLog.objects.count() == 1
    assert AuditEvent.objects.filter(entity_type="DoseLog").count() == 1


@pytest.mark.django_db
def test_bad_input_names_the_field(personas):
    regimen = prn(personas)
    client = app(personas.patient_user)
    response = client.post(
        "/api/doses",
        {"regimen": regimen.pk, "status": "prn", "idempotency_key": "app-00000002"},
        content_type="application/json",
    )
    assert response.status_code == 422 and "reason" in response.json()["errors"]
    response = client.post(
        "/api/doses",
        {"regimen": 999999, "status": "prn", "reason": "x", "idempotency_key": "app-00000003"},
        content_type="application/json",
    )
    assert response.status_code == 422 and "regimen" in response.json()["errors"]


@pytest.mark.django_db
def test_another_patient_or_a_clinician_cannot_log_pats_dose(personas):
    regimen = prn(personas)
    body = {"regimen": regimen.pk, "status": "prn", "reason": "x", "idempotency_key": "app-00000004"}
    other = app(personas.other_patient_user).post("/api/doses", body, content_type="application/json")
    assert other.status_code == 422  # not one of their medications
    clinician = app(personas.prescriber).post("/api/doses", body, content_type="application/json")
    assert clinician.status_code == 404
    no_scope = app(personas.patient_user, "user/CarePlan.read").post(
        "/api/doses", body, content_type="application/json"
    )
    assert no_scope.status_code == 403
    assert not DoseLog.objects.exists()
