"""Documenting a risk assessment: the flag stays until one resolves it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tandem.audit.models import AuditEvent
from tandem.collab.models import Alert
from tandem.safety import assessment
from tandem.safety.actions import SafetyError, do_document_assessment
from tandem.safety.models import AssessmentTask, RiskAssessment, SafetyFlag
from tandem.safety.tests.helpers import record_phq9

pytestmark = pytest.mark.django_db


def url(personas, name="safety:assess"):
    return reverse(name, kwargs={"patient_id": personas.patient.pk})


def form(**extra):
    data = {
        "key": "assess-key-0001",
        "c1": "yes",
        "c2": "no",
        "c6": "no",
        "risk_level": "low",
        "actions": ["safety_plan_reviewed", "means_counselling"],
        "rationale": "Passive wish to be dead, no plan or intent; protective factors strong.",
        "resolves_flag": "on",
    }
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def test_an_assessment_resolves_the_flag_its_task_and_its_alerts(personas):
    record_phq9(personas, 1)
    client = personas.client_for("care_manager")
    response = client.post(url(personas), form())
    assert response.status_code == 302
    flag = SafetyFlag.objects.get()
    record = RiskAssessment.objects.get()
    assert flag.status == "resolved" and flag.resolved_by_assessment == record
    assert flag.resolved_by == personas.care_manager
    assert record.cssrs == {"/93246-7": "yes", "/93247-5": "no", "/93267-3": "no"}
    assert record.suggested_level == "low" and record.risk_level == "low"
    assert record.assessed_role == "care_manager"
    assert AssessmentTask.objects.get().status == "done"
    alert = Alert.objects.get()
    assert alert.status == "resolved" and "risk assessment documented" in alert.resolution_note.lower()
    assert AuditEvent.objects.filter(entity_type="RiskAssessment", action="create").exists()
    assert AuditEvent.objects.filter(
        entity_type="SafetyFlag", action="update", extra__change="resolved"
    ).exists()


def test_an_assessment_that_does_not_resolve_keeps_the_flag_open(personas):
    record_phq9(personas, 1)
    personas.client_for("therapist").post(url(personas), form(resolves_flag=None))
    assert SafetyFlag.objects.get().status == "open"
    assert AssessmentTask.objects.get().status == "open"
    assert RiskAssessment.objects.get().resolves_flag is False


def test_a_double_submit_records_one_assessment(personas):
    record_phq9(personas, 1)
    client = personas.client_for("prescriber")
    client.post(url(personas), form(resolves_flag=None))
    client.post(url(personas), form(resolves_flag=None))
    assert RiskAssessment.objects.count() == 1


@pytest.mark.parametrize(
    "change, field",
    [
        ({"risk_level": ""}, "risk_level"),
        ({"rationale": "  "}, "rationale"),
        ({"actions": []}, "actions"),
    ],
)
def test_bad_input_names_the_field_and_keeps_what_was_typed(personas, change, field):
    record_phq9(personas, 1)
    response = personas.client_for("care_manager").post(url(personas), form(**change))
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    html = response.content.decode()
    if field != "rationale":
        assert "Passive wish to be dead" in html
    assert SafetyFlag.objects.get().status == "open" and not RiskAssessment.objects.exists()


def test_resolving_needs_an_open_flag(personas):
    with pytest.raises(SafetyError) as caught:
        do_document_assessment(
            personas.patient,
            cssrs={},
            risk_level="low",
            actions=["safety_plan_reviewed"],
            rationale="r",
            resolves_flag=True,
            idempotency_key="assess-key-0002",
            acting_user=personas.therapist,
            role="therapist",
        )
    assert caught.value.field == "resolves_flag"


def test_an_unknown_cssrs_answer_is_refused(personas):
    with pytest.raises(SafetyError) as caught:
        do_document_assessment(
            personas.patient,
            cssrs={"/93246-7": "maybe"},
            risk_level="low",
            actions=[],
            rationale="r",
            resolves_flag=False,
            idempotency_key="assess-key-0003",
            acting_user=personas.therapist,
            role="therapist",
        )
    assert caught.value.field == "cssrs:/93246-7"


@pytest.mark.parametrize(
    "answers, level",
    [
        ({}, ""),
        ({"/93246-7": "yes"}, "low"),
        ({"/93247-5": "yes", "/93248-3": "yes"}, "moderate"),
        ({"/93267-3": "yes"}, "moderate"),
        ({"/93247-5": "yes", "/93249-1": "yes"}, "high"),
        ({"/93250-9": "yes"}, "high"),
        ({"/93267-3": "yes", "/93269-9": "yes"}, "high"),
        ({"/93246-7": "no", "/93247-5": "no"}, ""),
    ],
)
def test_the_screener_suggests_a_level_at_each_band(answers, level):
    assert assessment.suggested_level(answers) == level


def test_the_form_shows_constructs_and_codes_not_the_columbia_wording(personas):
    record_phq9(personas, 1)
    html = personas.client_for("care_manager").get(url(personas)).content.decode()
    assert "wish to be dead (LOINC 93246-7)" in html and "225337009" in html
    assert "not reproduced" in html
    assert "PHQ-9 item 9" in html  # why the flag is open


def test_the_consultant_reads_but_does_not_document(personas):
    assert personas.client_for("consultant").get(url(personas, "safety:overview")).status_code == 200
    assert personas.client_for("consultant").get(url(personas)).status_code == 404


def test_the_overview_shows_the_flag_until_it_is_resolved(personas):
    record_phq9(personas, 1)
    client = personas.client_for("therapist")
    html = client.get(url(personas, "safety:overview")).content.decode()
    assert "Safety flag open since" in html and "acknowledge by" in html
    client.post(url(personas), form())
    html = client.get(url(personas, "safety:overview")).content.decode()
    assert "Safety flag open since" not in html and "Resolved" in html and "Low risk" in html


def test_an_open_task_waits_on_the_start_page(personas):
    from tandem.safety.worklist import assessments_due

    record_phq9(personas, 1)
    items = assessments_due(personas.care_manager)
    assert [i.kind for i in items] == ["Risk assessment"] and items[0].link == url(personas)
    assert assessments_due(personas.consultant) == [] and assessments_due(personas.outsider) == []
