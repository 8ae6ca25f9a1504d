"""Today's doses and side effects in the JSON API, as a patient's phone app uses them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tandem.audit.models import Action, AuditEvent, Outcome
from tandem.collab.models import Alert
from tandem.lib.tests.api_helpers import app, last_seq, pats_record
from tandem.medications.actions import do_log_dose, do_start_regimen
from tandem.medications.models import SideEffectReport
from tandem.medications.side_effect_actions import do_respond_to_side_effect

# 10:00 in Chicago (Pat's zone) on a winter day: the 08:00 dose is past, the 20:00 one ahead.
MORNING = datetime.fromisoformat("2026-01-15T16:00:00+00:00")


@pytest.mark.django_db
def test_today_lists_pats_doses_in_her_own_day_with_what_she_logged(personas):
    with time_machine.travel(MORNING, tick=False):
        record = pats_record(personas)
        morning = datetime.fromisoformat("2026-01-15T14:00:00+00:00")  # 08:00 in Chicago
        do_log_dose(
            personas.patient,
            record.scheduled,
            status="taken",
            due_at=morning,
            idempotency_key="dose-key-0001",
            acting_user=personas.patient_user,
        )
        before = last_seq()
        response = app(personas.patient_user).get("/api/doses/today")
    assert response.status_code == 200
    body = response.json()
    assert body["day"] == "2026-01-15" and body["time_zone"] == "America/Chicago"
    assert [(d["local_time"], d["drug_name"], d["status"]) for d in body["doses"]] == [
        ("08:00", "Sertraline", "taken"),
        ("20:00", "Sertraline", None),
    ]
    assert body["doses"][0]["dose"] == "50 mg at 08:00 and 20:00"
    assert body["doses"][0]["regimen"] == record.scheduled.pk
    assert [p["drug_name"] for p in body["as_needed"]] == ["Hydroxyzine"]
    read = AuditEvent.objects.get(seq__gt=before, action=Action.READ)
    assert read.entity_type == "MedicationAdministration" and read.patient_id == personas.patient.pk


@pytest.mark.django_db
def test_the_local_day_is_the_patients_not_the_servers(personas):
    # 03:00 UTC on the 16th is still the evening of the 15th in Chicago.
    with time_machine.travel(datetime.fromisoformat("2026-01-16T03:00:00+00:00"), tick=False):
        pats_record(personas)
        body = app(personas.patient_user).get("/api/doses/today").json()
    assert body["day"] == "2026-01-15"


@pytest.mark.django_db
def test_today_has_a_fixed_number_of_queries(personas):
    pats_record(personas)
    client = app(personas.patient_user)
    client.get("/api/doses/today")  # the token's first use is recorded once
    with CaptureQueriesContext(connection) as few:
        client.get("/api/doses/today")
    for n in range(3):
        do_start_regimen(
            personas.patient,
            drug_key="bupropion",
            drug_name=f"Bupropion {n}",
            drug_classes=["ndri"],
            dose_amount=150,
            times=["09:00"],
            reason="Add-on",
            acting_user=personas.prescriber,
            effective_at=timezone.now() - timedelta(days=1),
        )
    with CaptureQueriesContext(connection) as many:
        response = client.get("/api/doses/today")
    assert len(response.json()["doses"]) > 2
    assert len(many.captured_queries) == len(few.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["prescriber", "therapist", "org_admin", "outsider"])
def test_a_clinician_has_no_doses_of_their_own_and_gets_404_audited(personas, persona):
    pats_record(personas)
    before = last_seq()
    response = app(personas.all()[persona]).get("/api/doses/today")
    assert response.status_code == 404 and response.json()["detail"] == "Not found."
    assert AuditEvent.objects.filter(seq__gt=before, outcome=Outcome.DENIED).exists()


@pytest.mark.django_db
def test_another_patient_sees_only_their_own_empty_day(personas):
    pats_record(personas)
    body = app(personas.other_patient_user).get("/api/doses/today").json()
    assert body["doses"] == [] and body["as_needed"] == []


# Side effects ----------------------------------------------------------------------------------

REPORT = {"symptoms": ["nausea"], "frequency": 2, "intensity": 2, "burden": 1, "text": ""}


@pytest.mark.django_db
def test_a_patient_app_reports_a_side_effect_once_per_key_and_the_prescriber_is_alerted(personas):
    record = pats_record(personas)
    client = app(personas.patient_user)
    body = {**REPORT, "regimen": record.scheduled.pk, "idempotency_key": "side-0000001"}
    first = client.post("/api/side-effects", body, content_type="application/json")
    again = client.post("/api/side-effects", body, content_type="application/json")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"] and again.json()["created"] is False
    assert first.json()["drug_name"] == "Sertraline"
    assert first.json()["prescribers"] == [personas.prescriber.display_name]
    assert SideEffectReport.objects.count() == 1
    assert Alert.objects.filter(kind="side_effect", patient=personas.patient).count() == 1
    assert AuditEvent.objects.filter(entity_type="SideEffectReport", action=Action.CREATE).count() == 1


@pytest.mark.django_db
def test_an_urgent_report_tells_the_app_to_contact_the_prescriber_now(personas):
    pats_record(personas)  # sertraline: serotonergic
    body = {
        **REPORT,
        "symptoms": ["agitation", "muscle_twitching", "sweating"],
        "burden": 5,
        "idempotency_key": "side-0000002",
    }
    response = app(personas.patient_user).post("/api/side-effects", body, content_type="application/json")
    assert response.status_code == 201
    assert response.json()["contact_prescriber_now"] is True


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"burden": 7}, "burden"),
        ({"symptoms": ["hiccups"]}, "symptoms"),
        ({"symptoms": [], "text": ""}, "symptoms"),
        ({"symptoms": ["other"], "text": ""}, "text"),
        ({"idempotency_key": "short"}, "idempotency_key"),
        ({"regimen": 99999999}, "regimen"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_nothing_is_stored(personas, change, field):
    pats_record(personas)
    body = {**REPORT, "idempotency_key": "side-0000003", **change}
    response = app(personas.patient_user).post("/api/side-effects", body, content_type="application/json")
    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert not SideEffectReport.objects.exists()


@pytest.mark.django_db
def test_another_patients_medicine_is_refused_like_a_missing_one(personas):
    record = pats_record(personas)
    client = app(personas.other_patient_user)
    theirs = {**REPORT, "regimen": record.scheduled.pk, "idempotency_key": "side-0000004"}
    missing = {**REPORT, "regimen": 99999999, "idempotency_key": "side-0000005"}
    a = client.post("/api/side-effects", theirs, content_type="application/json")
    b = client.post("/api/side-effects", missing, content_type="application/json")
    assert a.status_code == b.status_code == 422 and a.json() == b.json()
    assert not SideEffectReport.objects.exists()


@pytest.mark.django_db
def test_the_list_shows_own_reports_with_the_prescribers_response(personas):
    pats_record(personas)
    client = app(personas.patient_user)
    created = client.post(
        "/api/side-effects", {**REPORT, "idempotency_key": "side-0000006"}, content_type="application/json"
    ).json()
    report = SideEffectReport.objects.get(pk=created["id"])
    do_respond_to_side_effect(
        report,
        response="continue",
        note="Usually passes in two weeks",
        acting_user=personas.prescriber,
        role="prescriber",
    )
    app(personas.other_patient_user).post(
        "/api/side-effects", {**REPORT, "idempotency_key": "side-0000007"}, content_type="application/json"
    )
    body = client.get("/api/side-effects").json()
    assert [item["id"] for item in body["items"]] == [report.pk]
    assert body["items"][0]["response"]["note"] == "Usually passes in two weeks"
    assert body["items"][0]["response"]["responded_by"] == personas.prescriber.display_name
    assert body["next_page"] is None


@pytest.mark.django_db
def test_tokens_without_the_adverse_event_scopes_are_refused(personas):
    pats_record(personas)
    client = app(personas.patient_user, "user/MedicationAdministration.cs")
    post = client.post(
        "/api/side-effects", {**REPORT, "idempotency_key": "side-0000008"}, content_type="application/json"
    )
    assert post.status_code == 403 and "AdverseEvent" in post.json()["detail"]
    assert client.get("/api/side-effects").status_code == 403
    assert not SideEffectReport.objects.exists()
    read_only = app(personas.patient_user, "user/AdverseEvent.s")
    assert read_only.get("/api/side-effects").status_code == 200
    body = {**REPORT, "idempotency_key": "side-0000009"}
    assert read_only.post("/api/side-effects", body, content_type="application/json").status_code == 403
