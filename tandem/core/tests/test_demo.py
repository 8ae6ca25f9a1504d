from __future__ import annotations

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

from tandem.accounts.models import User
from tandem.patients.access import patients_for_clinician
from tandem.patients.models import Patient

DEMO_LOGINS = [
    "therapist@demo.tandem",
    "prescriber@demo.tandem",
    "care@demo.tandem",
    "consultant@demo.tandem",
    "admin@demo.tandem",
    "patient@demo.tandem",
    "prescriber@northside.demo.tandem",
]


def row_counts() -> dict[str, int]:
    return {
        m._meta.label: m._default_manager.count()
        for m in apps.get_models()
        if m._meta.app_label in {"accounts", "patients", "audit"}
    }


@pytest.mark.django_db
def test_demo_twice_changes_nothing_the_second_time():
    call_command("demo")
    first = row_counts()
    call_command("demo")
    assert row_counts() == first
    assert first["patients.Patient"] >= 40


@pytest.mark.django_db
@pytest.mark.parametrize("email", DEMO_LOGINS)
def test_every_demo_login_works(email, settings):
    call_command("demo")
    client = Client()
    response = client.post(reverse("login"), {"username": email, "password": settings.DEMO_PASSWORD})
    assert response.status_code == 302, email
    home = client.get("/", follow=True)
    assert home.status_code == 200


@pytest.mark.django_db
def test_northside_sees_shared_demo_patients_and_not_others():
    call_command("demo")
    northside = User.objects.get(email="prescriber@northside.demo.tandem")
    visible = set(patients_for_clinician(northside).values_list("mrn", flat=True))
    assert {"DC-1002", "DC-1003", "DC-1007"} <= visible  # shared by consent
    assert "DC-1001" not in visible and "DC-1011" not in visible  # never shared; ended consent
    assert "DC-1004" not in visible  # consent to the organisation was revoked
    assert {"NS-501", "NS-502", "NS-503"} <= visible  # Northside's own patients
    assert Patient.objects.filter(organisation__slug="demo-clinic").count() == 40


@pytest.mark.django_db
def test_demo_refuses_in_production():
    from django.core.management.base import CommandError

    with override_settings(PRODUCTION=True), pytest.raises(CommandError, match="production"):
        call_command("demo")
    assert not Patient.objects.exists()


@pytest.mark.django_db
def test_the_demo_has_plans_an_unacknowledged_change_and_a_safety_plan():
    from tandem.plans.access import plans_awaiting_acknowledgement
    from tandem.plans.models import SafetyDocument, TreatmentPlan

    call_command("demo")
    assert TreatmentPlan.objects.filter(status="active").count() >= 30
    therapist = User.objects.get(email="therapist@demo.tandem")
    waiting = {p.patient.mrn for p in plans_awaiting_acknowledgement(therapist)}
    assert "DC-1001" in waiting
    maya = Patient.objects.get(mrn="DC-1001")
    assert SafetyDocument.objects.filter(patient=maya, kind="safety").exists()
    northside = User.objects.get(email="prescriber@northside.demo.tandem")
    hannah = Patient.objects.get(mrn="DC-1013")
    assert hannah.care_team.filter(user=northside).exists()  # a team across two organisations


@pytest.mark.django_db
def test_the_demo_has_regimens_with_history_dose_logs_and_fills():
    from tandem.medications.models import DoseLog, Fill, Regimen

    call_command("demo")
    assert Regimen.objects.count() >= 30
    assert Regimen.objects.filter(version_count__gte=2).exists()  # titrated
    assert (
        DoseLog.objects.filter(status="skipped").exists()
        and DoseLog.objects.filter(status="taken_late").exists()
    )
    assert Fill.objects.count() > Regimen.objects.count()
    maya = Patient.objects.get(mrn="DC-1001")
    assert Regimen.objects.filter(patient=maya, status="active").exists()


@pytest.mark.django_db
def test_the_demo_has_side_effects_an_open_alert_and_lithium_monitoring():
    from tandem.collab.models import Alert
    from tandem.medications.models import LabResult, MonitoringDue, SideEffectReport

    call_command("demo")
    assert SideEffectReport.objects.filter(response="continue").exists()
    assert SideEffectReport.objects.filter(response="").exists()
    assert Alert.objects.filter(kind="side_effect", status="open").exists()
    assert LabResult.objects.filter(kind="lithium_level").count() == 2
    assert MonitoringDue.objects.filter(kind__contains="lithium").exists()
