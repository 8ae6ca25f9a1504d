"""Questionnaires in the JSON API: what is due, and answers sent by a patient's phone app."""

from __future__ import annotations

import pytest

from tandem.audit.models import Action, AuditEvent, Outcome
from tandem.collab.models import Alert
from tandem.lib.tests.api_helpers import app, last_seq, pats_record
from tandem.measures.models import InstrumentResponse
from tandem.measures.tests.helpers import phq9
from tandem.safety.models import SafetyFlag

URL = "/api/questionnaires/phq-9/responses"


def send(client, answers, key="phq-key-0001", **extra):
    body = {"answers": answers, "idempotency_key": key, **extra}
    return client.post(URL, body, content_type="application/json")


@pytest.mark.django_db
def test_the_due_list_has_the_plans_phq9_with_its_questions_and_answer_codes(personas):
    pats_record(personas)
    before = last_seq()
    response = app(personas.patient_user).get("/api/questionnaires/due")
    assert response.status_code == 200
    [due] = response.json()
    assert due["instrument"] == "phq-9" and due["answer_here"] is True
    assert len(due["questions"]) == 10  # nine scored, and how difficult they made things
    item9 = next(q for q in due["questions"] if q["link_id"] == "/44260-8")
    assert [o["code"] for o in item9["options"]] == ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
    read = AuditEvent.objects.get(seq__gt=before, action=Action.READ)
    assert read.entity_type == "QuestionnaireResponse" and read.patient_id == personas.patient.pk


@pytest.mark.django_db
def test_answers_are_scored_and_stored_once_per_key(personas):
    pats_record(personas)
    client = app(personas.patient_user)
    first = send(client, phq9([1, 1, 2, 1, 0, 0, 1, 0, 0]))
    again = send(client, phq9([3] * 9))
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"] and again.json()["created"] is False
    response = InstrumentResponse.objects.get()
    assert response.scored and response.total == 6 and response.source == "portal"
    assert response.entered_by == personas.patient_user
    assert first.json()["complete"] is True and first.json()["unanswered"] == []
    assert AuditEvent.objects.filter(entity_type="QuestionnaireResponse", action=Action.CREATE).count() == 1
    # Answered: no longer due.
    assert client.get("/api/questionnaires/due").json() == []


@pytest.mark.django_db
def test_a_zero_on_item_9_shows_no_crisis_lines_and_never_says_safe(personas):
    pats_record(personas)
    response = send(app(personas.patient_user), phq9([2] * 8 + [0]))
    assert response.json()["crisis"] == {"show_resources": False, "reason": "", "lines": []}
    assert "safe" not in response.content.decode().lower()


@pytest.mark.django_db
@pytest.mark.parametrize("item9", [1, 2, 3])
def test_item_9_from_1_shows_the_crisis_lines_and_runs_the_safety_workflow(personas, item9):
    pats_record(personas)
    response = send(app(personas.patient_user), phq9([0] * 8 + [item9]))
    assert response.status_code == 201
    crisis = response.json()["crisis"]
    assert crisis["show_resources"] is True
    assert [line["number"] for line in crisis["lines"]] == ["988", "911"]
    assert crisis["lines"][-1]["emergency"] is True
    assert SafetyFlag.objects.filter(patient=personas.patient, status="open").count() == 1
    assert Alert.objects.filter(patient=personas.patient, kind="safety", severity="urgent").exists()


@pytest.mark.django_db
def test_a_retry_of_a_positive_item_9_shows_the_lines_again_and_alerts_once(personas):
    pats_record(personas)
    client = app(personas.patient_user)
    send(client, phq9([0] * 8 + [1]))
    again = send(client, phq9([0] * 8 + [1]))
    assert again.status_code == 200 and again.json()["crisis"]["show_resources"] is True
    assert Alert.objects.filter(patient=personas.patient, kind="safety").count() == 1


@pytest.mark.django_db
def test_a_form_left_incomplete_is_stored_not_scored(personas):
    pats_record(personas)
    answers = phq9([1] * 9)
    del answers["/44260-8"]
    response = send(app(personas.patient_user), answers)
    assert response.status_code == 201
    assert response.json()["complete"] is False and response.json()["unanswered"] == ["/44260-8"]
    assert InstrumentResponse.objects.get().total is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("answers", "extra", "field"),
    [
        ({"/44260-8": "LA0000-0"}, {}, "answers./44260-8"),
        ({"/nope": "LA6568-5"}, {}, "answers./nope"),
        ({}, {"authored_at": "2999-01-01T00:00:00Z"}, "authored_at"),
        ({}, {"key": "short"}, "idempotency_key"),
        ({"/44260-8": [1]}, {}, "answers./44260-8.int"),
    ],
)
def test_bad_answers_are_a_422_naming_each_and_nothing_is_stored(personas, answers, extra, field):
    pats_record(personas)
    response = send(app(personas.patient_user), answers, **extra)
    assert response.status_code == 422
    assert field in response.json()["errors"], response.json()
    assert not InstrumentResponse.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("instrument", ["nope", "c-ssrs-screener", "who-5"])
def test_an_instrument_not_answered_in_the_app_is_404(personas, instrument):
    pats_record(personas)
    response = app(personas.patient_user).post(
        f"/api/questionnaires/{instrument}/responses",
        {"answers": {}, "idempotency_key": "phq-key-0002"},
        content_type="application/json",
    )
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["prescriber", "therapist", "consented", "org_admin"])
def test_a_clinician_cannot_answer_as_a_patient_and_it_is_audited(personas, persona):
    pats_record(personas)
    before = last_seq()
    response = send(app(personas.all()[persona]), phq9([1] * 9))
    assert response.status_code == 404
    assert AuditEvent.objects.filter(seq__gt=before, outcome=Outcome.DENIED).exists()
    assert not InstrumentResponse.objects.exists()


@pytest.mark.django_db
def test_the_other_patients_answers_are_their_own(personas):
    pats_record(personas)
    send(app(personas.other_patient_user), phq9([1] * 9))
    assert InstrumentResponse.objects.get().patient == personas.other_patient
    assert app(personas.other_patient_user).get("/api/questionnaires/due").json() == []


@pytest.mark.django_db
def test_tokens_need_the_questionnaire_scopes(personas):
    pats_record(personas)
    client = app(personas.patient_user, "user/MedicationAdministration.cs")
    assert send(client, phq9([1] * 9)).status_code == 403
    assert client.get("/api/questionnaires/due").status_code == 403
    assert not InstrumentResponse.objects.exists()
    assert AuditEvent.objects.filter(outcome=Outcome.DENIED, entity_type="QuestionnaireResponse").exists()
