"""A submission meeting the safety rule: flag, task and urgent alert, with the response or not at all."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tandem.audit.models import AuditEvent
from tandem.collab.models import Alert
from tandem.measures.actions import do_ingest_questionnaire_response, do_record_response
from tandem.measures.models import InstrumentResponse
from tandem.measures.tests.test_fhir import phq9_qr
from tandem.safety.models import AssessmentTask, SafetyFlag, SafetyTrigger
from tandem.safety.tests.helpers import cssrs_yes, portal_phq9_post, record_phq9

pytestmark = pytest.mark.django_db

FORBIDDEN = re.compile(r"\bsafe\b|no risk|not at risk|risk[- ]free|low risk", re.IGNORECASE)


def test_item9_of_1_flags_the_patient_opens_a_task_and_raises_an_urgent_alert(personas):
    before = timezone.now()
    submission = record_phq9(personas, 1)
    flag = SafetyFlag.objects.get()
    trigger = SafetyTrigger.objects.get()
    assert flag.patient == personas.patient and flag.status == "open"
    assert trigger.response == submission.response and trigger.rule_ids == ["phq9-item9"]
    assert trigger.source == "portal" and "Several days" in trigger.reasons[0]
    assert AssessmentTask.objects.get().flag == flag
    alert = Alert.objects.get()
    assert trigger.alert == alert
    assert (alert.kind, alert.severity, alert.status, alert.rule_id) == (
        "safety",
        "urgent",
        "open",
        "phq9-item9",
    )
    assert "PHQ-9 item 9" in alert.reason and "answered by the patient in the portal" in alert.reason
    assert "clinical-facts.md" in alert.source
    assert not FORBIDDEN.search(alert.title + alert.reason)
    assert set(alert.route_to) >= {"care_manager", "prescriber", "therapist"}
    assert alert.ack_due_at is not None
    assert before + timedelta(minutes=60) <= alert.ack_due_at <= timezone.now() + timedelta(minutes=60)
    assert alert.link == reverse("safety:overview", kwargs={"patient_id": personas.patient.pk})
    event = AuditEvent.objects.filter(entity_type="SafetyFlag").get()
    assert event.action == "create" and event.extra["rules"] == ["phq9-item9"]


def test_item9_of_0_flags_nothing(personas):
    record_phq9(personas, 0)
    assert not SafetyFlag.objects.exists() and not Alert.objects.exists()


def test_it_is_one_transaction_with_the_response(personas, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("alert store down")

    monkeypatch.setattr("tandem.safety.actions.do_raise_alert", broken)
    with pytest.raises(RuntimeError):
        record_phq9(personas, 2)
    assert not InstrumentResponse.objects.exists()
    assert not SafetyFlag.objects.exists() and not AssessmentTask.objects.exists()


def test_a_duplicate_submission_flags_once(personas):
    record_phq9(personas, 1, key="same-key-1")
    again = record_phq9(personas, 1, key="same-key-1")
    assert not again.created
    assert SafetyTrigger.objects.count() == 1 and Alert.objects.count() == 1


def test_a_second_positive_screen_adds_to_the_open_flag_and_alerts_again(personas):
    record_phq9(personas, 1, key="first-key-1")
    record_phq9(personas, 3, key="second-key-1")
    flag = SafetyFlag.objects.get()
    assert flag.triggers.count() == 2
    assert AssessmentTask.objects.count() == 1
    assert Alert.objects.filter(kind="safety").count() == 2
    assert AuditEvent.objects.filter(entity_type="SafetyFlag", action="update").exists()


def test_a_clinician_administered_screen_starts_it_too(personas):
    record_phq9(personas, 2, source="clinician")
    assert "administered by a clinician" in Alert.objects.get().reason
    assert SafetyTrigger.objects.get().source == "clinician"


def test_a_fhir_questionnaire_response_starts_it_too(personas):
    do_ingest_questionnaire_response(
        personas.patient, phq9_qr([0] * 8 + [1], identifier={"system": "urn:ehr", "value": "x1"}), None
    )
    assert SafetyTrigger.objects.get().source == "fhir"
    assert "received from another system (FHIR)" in Alert.objects.get().reason


def test_a_positive_cssrs_screen_starts_it(personas):
    do_record_response(
        personas.patient,
        instrument="c-ssrs-screener",
        answers=cssrs_yes("/93246-7"),
        administered_by="clinician",
        source="clinician",
        idempotency_key="cssrs-key-1",
        acting_user=personas.therapist,
        role="therapist",
    )
    trigger = SafetyTrigger.objects.get()
    assert trigger.rule_ids == ["cssrs-positive"] and "C-SSRS" in Alert.objects.get().reason


def test_a_cssrs_screen_with_no_yes_starts_nothing(personas):
    do_record_response(
        personas.patient,
        instrument="c-ssrs-screener",
        answers=cssrs_yes(),
        administered_by="clinician",
        source="clinician",
        idempotency_key="cssrs-key-2",
        acting_user=personas.therapist,
    )
    assert not SafetyFlag.objects.exists()


def test_the_portal_submission_starts_it_in_the_same_request(personas):
    client = personas.client_for("patient")
    response = client.post(
        reverse("portal_measures:answer", kwargs={"instrument": "phq-9"}), portal_phq9_post(1)
    )
    assert response.status_code == 302
    assert SafetyFlag.objects.filter(patient=personas.patient, status="open").exists()
    assert Alert.objects.get().severity == "urgent"


def test_a_positive_submission_takes_a_fixed_number_of_queries(personas):
    record_phq9(personas, 1, key="warm-up-key")  # the flag is open: later screens add to it
    with CaptureQueriesContext(connection) as first:
        record_phq9(personas, 2, key="counted-key-1")
    with CaptureQueriesContext(connection) as second:
        record_phq9(personas, 3, key="counted-key-2")
    assert len(first) == len(second)
    assert len(first) <= 40, [q["sql"] for q in first]


def test_a_0_on_item_9_is_never_called_safe_or_no_risk_anywhere(personas):
    submission = record_phq9(personas, 0)
    pid = personas.patient.pk
    pages = [
        personas.client_for("patient").get(
            reverse("portal_measures:done", kwargs={"response_id": submission.response.pk})
        ),
        personas.client_for("therapist").get(
            reverse("measures:response", kwargs={"patient_id": pid, "response_id": submission.response.pk})
        ),
        personas.client_for("therapist").get(reverse("measures:responses", kwargs={"patient_id": pid})),
        personas.client_for("therapist").get(reverse("safety:overview", kwargs={"patient_id": pid})),
        personas.client_for("therapist").get(reverse("collab:patient_alerts", kwargs={"patient_id": pid})),
        personas.client_for("therapist").get(reverse("patients:detail", kwargs={"patient_id": pid})),
    ]
    for page in pages:
        assert page.status_code == 200
        text = re.sub(r"<[^>]+>", " ", page.content.decode())
        assert not FORBIDDEN.search(text), FORBIDDEN.search(text)
    stored = submission.response
    stored.refresh_from_db()
    words = " ".join([stored.band_label, stored.flags.get("safety_note", ""), *stored.safety_reasons])
    assert not FORBIDDEN.search(words)
    assert "does not rule out risk" in stored.flags["safety_note"]
