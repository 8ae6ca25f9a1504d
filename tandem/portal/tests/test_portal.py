from __future__ import annotations

import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_the_patient_sees_who_opened_their_record(personas):
    personas.client_for("therapist").get(
        reverse("patients:detail", kwargs={"patient_id": personas.patient.pk})
    )
    personas.client_for("consented").get(
        reverse("patients:tab", kwargs={"patient_id": personas.patient.pk, "tab": "medications"})
    )
    html = personas.client_for("patient").get(reverse("portal:access_log")).content.decode()
    assert "Theo Therapist" in html
    assert "Connie Sented" in html
    assert "Therapist" in html


@pytest.mark.django_db
def test_the_access_log_shows_nothing_of_other_patients(personas):
    personas.client_for("colleague").get(
        reverse("patients:detail", kwargs={"patient_id": personas.other_patient.pk})
    )
    html = personas.client_for("patient").get(reverse("portal:access_log")).content.decode()
    assert "Col League" not in html


@pytest.mark.django_db
def test_the_portal_home_shows_the_team_and_crisis_line(personas):
    html = personas.client_for("patient").get(reverse("portal:home")).content.decode()
    assert "Rita Prescriber" in html and "your prescriber" in html
    assert 'href="tel:988"' in html


@pytest.mark.django_db
def test_the_org_admin_searches_the_audit_log(personas):
    personas.client_for("therapist").get(
        reverse("patients:detail", kwargs={"patient_id": personas.patient.pk})
    )
    personas.client_for("outsider").get(
        reverse("patients:detail", kwargs={"patient_id": personas.patient.pk})
    )
    admin = personas.client_for("org_admin")
    html = admin.get(reverse("audit:org_log") + "?patient=RC-1&action=read").content.decode()
    assert "therapist@riverside.test" in html
    html = admin.get(reverse("audit:org_log") + "?action=denied").content.decode()
    assert "outsider@lakeside.test" in html
    bad = admin.get(reverse("audit:org_log") + "?start=2026-05-02&end=2026-05-01")
    assert "The end date is before the start date." in bad.content.decode()
