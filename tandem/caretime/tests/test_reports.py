"""Month reports per patient and across patients, as pages and CSV; the first month; CSV safety."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse

from tandem.audit.models import AuditEvent
from tandem.caretime.csvout import safe_cell
from tandem.caretime.models import TimeEntry
from tandem.caretime.report import first_months, months_for, patient_month
from tandem.lib.testing import make_patient
from tandem.patients.models import CareTeamMember

pytestmark = pytest.mark.django_db

MARCH, APRIL = date(2025, 3, 1), date(2025, 4, 1)


def _care_from(personas, day: date, patient=None) -> None:
    CareTeamMember.objects.filter(patient=patient or personas.patient).update(start=day)


def _log(patient, user, day: date, minutes: int, role: str = "care_manager", note: str = "") -> TimeEntry:
    return TimeEntry.objects.create(
        patient=patient,
        user=user,
        role=role,
        activity="follow_up",
        day=day,
        month=day.replace(day=1),
        minutes=minutes,
        note=note,
    )


def _codes(pm) -> dict[str, int]:
    return {c.code: c.units for c in pm.codes}


def test_the_first_month_is_the_care_managers_start_month(personas):
    _care_from(personas, date(2025, 3, 20))
    _log(personas.patient, personas.care_manager, date(2025, 3, 25), 70)
    _log(personas.patient, personas.care_manager, date(2025, 4, 2), 60)
    assert _codes(patient_month(personas.patient.pk, MARCH)) == {"99492": 1, "G2214": 1, "99484": 1}
    assert _codes(patient_month(personas.patient.pk, APRIL)) == {"99493": 1, "G2214": 1, "99484": 1}


def test_a_first_entry_before_the_care_manager_joined_starts_the_first_month(personas):
    _care_from(personas, date(2025, 2, 1))
    CareTeamMember.objects.filter(patient=personas.patient, role="care_manager").update(
        start=date(2025, 4, 1)
    )
    _log(personas.patient, personas.care_manager, date(2025, 3, 31), 10)
    assert first_months([personas.patient.pk]) == {personas.patient.pk: MARCH}


def test_a_replaced_care_manager_does_not_start_a_new_first_month(personas):
    _care_from(personas, date(2025, 1, 10))
    CareTeamMember.objects.filter(patient=personas.patient, role="care_manager").update(end=date(2025, 2, 1))
    CareTeamMember.objects.create(
        patient=personas.patient,
        user=personas.colleague,
        role="care_manager",
        organisation=personas.home,
        start=date(2025, 3, 5),
    )
    assert first_months([personas.patient.pk]) == {personas.patient.pk: date(2025, 1, 1)}


def test_only_care_manager_minutes_count_for_cocm_and_everyone_for_99484(personas):
    _care_from(personas, date(2025, 2, 1))
    _log(personas.patient, personas.care_manager, date(2025, 3, 3), 50)
    _log(personas.patient, personas.therapist, date(2025, 3, 4), 40, role="therapist")
    pm = patient_month(personas.patient.pk, MARCH)
    assert (pm.cocm_minutes, pm.other_minutes) == (50, 40)
    assert _codes(pm) == {"G2214": 1, "99484": 1}


def test_the_patients_month_is_their_local_month(personas):
    """An entry is stored under the patient's calendar day, which the log form asks for."""
    _care_from(personas, date(2025, 2, 1))
    _log(personas.patient, personas.care_manager, date(2025, 3, 31), 30)
    assert patient_month(personas.patient.pk, MARCH).cocm_minutes == 30
    assert patient_month(personas.patient.pk, APRIL).cocm_minutes == 0


@override_settings(TANDEM_CARETIME_THRESHOLDS="midpoint")
def test_thresholds_come_from_settings_and_the_page_shows_their_source(personas):
    _care_from(personas, date(2025, 2, 1))
    _log(personas.patient, personas.care_manager, date(2025, 3, 3), 31)
    assert "99493" in _codes(patient_month(personas.patient.pk, MARCH))
    url = reverse("caretime:month", kwargs={"patient_id": personas.patient.pk}) + "?month=2025-03"
    body = personas.client_for("care_manager").get(url).content.decode()
    assert "MLN909432" in body and "unverified" in body


def test_the_month_page_lists_entries_and_codes(personas):
    _care_from(personas, date(2025, 2, 1))
    _log(personas.patient, personas.care_manager, date(2025, 3, 3), 65, note="weekly call")
    url = reverse("caretime:month", kwargs={"patient_id": personas.patient.pk}) + "?month=2025-03"
    response = personas.client_for("therapist").get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "weekly call" in body and "99493" in body and "§H" in body


@pytest.mark.parametrize("month", ["2025-13", "March", "2025-3-1", "99999-01"])
def test_a_bad_month_names_the_filter(personas, month):
    url = reverse("caretime:month", kwargs={"patient_id": personas.patient.pk}) + f"?month={month}"
    response = personas.client_for("care_manager").get(url)
    assert response.status_code == 400
    assert "Month:" in response.content.decode()


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_start_like_a_formula_get_an_apostrophe(start):
    assert safe_cell(f"{start}SUM(A1)") == f"'{start}SUM(A1)"


def test_csv_cells_that_are_text_or_numbers_are_unchanged():
    assert safe_cell("phone call") == "phone call"
    assert safe_cell("a=b") == "a=b"
    assert safe_cell(45) == 45
    assert safe_cell(None) == ""


def test_the_patient_csv_neutralises_a_formula_in_a_note_and_is_audited(personas):
    _care_from(personas, date(2025, 2, 1))
    _log(personas.patient, personas.care_manager, date(2025, 3, 3), 30, note='=HYPERLINK("http://x","y")')
    _log(personas.patient, personas.care_manager, date(2025, 3, 4), 30, note="@SUM(1)")
    url = reverse("caretime:month_csv", kwargs={"patient_id": personas.patient.pk}) + "?month=2025-03"
    response = personas.client_for("care_manager").get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    notes = [row[5] for row in rows[1:3]]
    assert notes == ['\'=HYPERLINK("http://x","y")', "'@SUM(1)"]
    assert ["code", "99493", "units", "1", "≥ 60 min, subsequent month", ""] in rows
    assert AuditEvent.objects.filter(entity_type="CareTime", action="export").exists()


def test_a_patient_named_like_a_formula_is_neutralised_in_the_organisation_csv(personas):
    _care_from(personas, date(2025, 2, 1))
    personas.patient.family_name = "-cmd|' /C calc'!A0"
    personas.patient.save(update_fields=["family_name"])
    _log(personas.patient, personas.care_manager, date(2025, 3, 3), 75)
    response = personas.client_for("org_admin").get(reverse("caretime:org_report_csv") + "?month=2025-03")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][0] == "patient"
    assert rows[1][0].startswith("'-cmd")
    assert rows[1][4:7] == ["75", "0", "99493, G2214, 99484"]


def test_the_organisation_report_lists_its_patients_only_and_is_audited(personas):
    _care_from(personas, date(2025, 2, 1))
    _care_from(personas, date(2025, 2, 1), patient=personas.other_patient)
    _log(personas.patient, personas.care_manager, date(2025, 3, 3), 70)
    _log(personas.other_patient, personas.colleague, date(2025, 3, 3), 20, role="therapist")
    elsewhere = make_patient(personas.other_org, "LK-1", "Lara", "Elsewhere")
    _log(elsewhere, personas.outsider, date(2025, 3, 3), 90)
    response = personas.client_for("org_admin").get(reverse("caretime:org_report") + "?month=2025-03")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Patient, Pat" in body and "Other, Oli" in body and "Elsewhere" not in body
    event = AuditEvent.objects.filter(entity_type="CareTimeReport", action="read").get()
    assert sorted(event.extra["patient_ids"]) == sorted([personas.patient.pk, personas.other_patient.pk])


def test_my_report_lists_the_clinicians_own_team_patients(personas):
    _care_from(personas, date(2025, 2, 1))
    _log(personas.patient, personas.care_manager, date(2025, 3, 3), 70)
    _log(personas.other_patient, personas.colleague, date(2025, 3, 3), 20, role="therapist")
    body = personas.client_for("care_manager").get(reverse("caretime:my_report") + "?month=2025-03")
    assert "Patient, Pat" in body.content.decode() and "Other, Oli" not in body.content.decode()
    csv_body = personas.client_for("colleague").get(reverse("caretime:my_report_csv") + "?month=2025-03")
    text = csv_body.content.decode()
    assert "Other, Oli" in text and "Patient, Pat" not in text


def test_the_organisation_report_is_for_its_admin_only(personas):
    for persona in ("care_manager", "therapist", "outsider", "patient"):
        assert personas.client_for(persona).get(reverse("caretime:org_report_csv")).status_code == 404


def test_months_for_takes_the_same_queries_for_one_patient_or_many(personas):
    _care_from(personas, date(2025, 2, 1))
    _log(personas.patient, personas.care_manager, date(2025, 3, 3), 70)
    with CaptureQueriesContext(connection) as one:
        months_for(None, MARCH, organisation_id=personas.home.pk)
    for i in range(5):
        patient = make_patient(personas.home, f"RC-X{i}", "Many", f"Patient{i}")
        _log(patient, personas.care_manager, date(2025, 3, 3 + i), 20 + i)
    with CaptureQueriesContext(connection) as many:
        found = months_for(None, MARCH, organisation_id=personas.home.pk)
    assert len(found) == 6
    assert len(many) == len(one) == 3
