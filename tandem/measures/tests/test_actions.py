"""Recording and ingesting responses: stored once, audited, a few queries, safety exposed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tandem.audit.models import AuditEvent
from tandem.measures.actions import MeasureError, do_ingest_questionnaire_response, do_record_response
from tandem.measures.fhir import FhirInputError
from tandem.measures.models import InstrumentResponse
from tandem.measures.tests.helpers import answers, coded, phq9, qr

pytestmark = pytest.mark.django_db
PHQ9_LINKS = [
    f"/{c}"
    for c in (
        "44250-9",
        "44255-8",
        "44259-0",
        "44254-1",
        "44251-7",
        "44258-2",
        "44252-5",
        "44253-3",
        "44260-8",
    )
]


def record(personas, values=None, *, key="key-000001", instrument="phq-9", given=None, **kwargs):
    return do_record_response(
        personas.patient,
        instrument=instrument,
        answers=given if given is not None else phq9(values or [1] * 9),
        administered_by=kwargs.pop("administered_by", "patient"),
        source=kwargs.pop("source", "portal"),
        idempotency_key=key,
        acting_user=personas.patient_user,
        role="patient",
        **kwargs,
    )


def test_it_scores_and_stores_a_complete_form(personas):
    submission = record(personas, [2] * 8 + [0])
    response = InstrumentResponse.objects.get()
    assert submission.created and submission.response == response
    assert (response.total, response.band, response.scored) == (16, "moderately-severe", True)
    assert response.item_values["/44253-3"] == 2
    assert response.answers["/44250-9"] == {
        "value": 2,
        "code": "LA6570-1",
        "system": "http://loinc.org",
        "display": "More than half the days",
    }
    assert response.item9 == 0 and not response.safety_triggered
    assert response.version == "1.0.0"


def test_it_exposes_the_safety_rule_with_its_reason(personas):
    submission = record(personas, [0] * 8 + [1])
    assert submission.safety.triggered
    assert "Several days" in submission.safety.reasons[0]
    response = submission.response
    response.refresh_from_db()
    assert response.safety_triggered and response.item9 == 1
    assert response.flags["safety_rules"] == ["phq9-item9"]


def test_a_positive_cssrs_screen_triggers_the_safety_rule(personas):
    given = {"/93246-7": "LA33-6", "/93247-5": "LA32-8", "/93267-3": "LA32-8"}
    submission = record(
        personas, instrument="c-ssrs-screener", given=given, administered_by="clinician", source="clinician"
    )
    assert submission.safety.triggered
    assert submission.response.band == "low"


def test_the_same_key_twice_stores_once_and_returns_the_first(personas):
    first = record(personas, [0] * 8 + [2])
    again = record(personas, [0] * 9)
    assert InstrumentResponse.objects.count() == 1
    assert not again.created and again.response.pk == first.response.pk
    assert again.safety.triggered and again.safety.reasons == first.safety.reasons
    assert again.http_status == 200 and first.http_status == 201


def test_an_incomplete_form_is_stored_and_marked_not_scored(personas):
    given = phq9([3] * 9)
    del given["/44251-7"]
    response = record(personas, given=given).response
    response.refresh_from_db()
    assert not response.scored
    assert (response.total, response.band) == (None, "")
    assert response.missing == ["/44251-7"]


def test_bad_answers_store_nothing_and_name_each_question(personas):
    with pytest.raises(MeasureError) as caught:
        record(personas, given={**phq9([0] * 9), "/44260-8": "LA0000-0", "/44250-9": "LA9999-9"})
    assert {f for f, _ in caught.value.errors} == {"/44260-8", "/44250-9"}
    assert not InstrumentResponse.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"key": "short"}, "idempotency_key"),
        ({"instrument": "phq-99"}, "instrument"),
        ({"administered_by": "robot"}, "administered_by"),
        ({"source": "fax"}, "source"),
        ({"authored_at": timezone.now() + timedelta(hours=1)}, "authored_at"),
    ],
)
def test_bad_input_names_the_field(personas, kwargs, field):
    with pytest.raises(MeasureError) as caught:
        record(personas, **kwargs)
    assert caught.value.field == field


def test_it_audits_the_write(personas):
    response = record(personas, [1] * 8 + [0]).response
    event = AuditEvent.objects.filter(entity_type="QuestionnaireResponse", action="create").get()
    assert event.entity_id == str(response.pk) and event.patient_id == personas.patient.pk
    assert event.extra["instrument"] == "phq-9" and event.extra["safety"] is False


def test_a_submission_takes_a_fixed_handful_of_queries(personas):
    no_item9 = [1] * 8 + [0]  # item 9 ≥ 1 runs the safety workflow (tandem/safety counts that)
    with CaptureQueriesContext(connection) as new:
        record(personas, no_item9, key="key-query-1")
    with CaptureQueriesContext(connection) as duplicate:
        record(personas, no_item9, key="key-query-1")
    # The action's and the insert's savepoints (4), the insert, and the audit row (chain head
    # read, row, head moved); a duplicate: the failed insert rolled back and the first one read.
    assert len(new) == 8, [q["sql"] for q in new]
    assert len(duplicate) == 7, [q["sql"] for q in duplicate]
    assert sum("measures_instrumentresponse" in q["sql"] for q in new) == 1


def test_audit_c_takes_the_sex_for_its_threshold(personas):
    female = record(
        personas, instrument="audit-c", given=answers("audit-c", [1, 1, 1]), key="key-auditc-f", sex="female"
    )
    unknown = record(personas, instrument="audit-c", given=answers("audit-c", [1, 1, 1]), key="key-auditc-u")
    assert female.response.band == "positive"
    assert unknown.response.band == "positive-if-female"


# --- FHIR ------------------------------------------------------------------------------------------


def phq9_qr(values, **extra):
    return qr(
        "http://loinc.org/q/44249-1",
        [coded(link, v) for link, v in zip(PHQ9_LINKS, values, strict=True)],
        **extra,
    )


def test_a_questionnaire_response_is_ingested_with_its_raw_resource(personas):
    authored = "2025-03-04T10:15:00-06:00"
    resource = phq9_qr([1] * 9, identifier={"system": "urn:ehr", "value": "qr-7"}, authored=authored)
    submission = do_ingest_questionnaire_response(personas.patient, resource, personas.care_manager)
    response = submission.response
    response.refresh_from_db()
    assert submission.created and submission.safety.triggered
    assert (response.source, response.administered_by) == ("fhir", "external")
    assert response.total == 9 and response.raw_resource == resource
    assert response.fhir_identifier == "urn:ehr|qr-7"
    assert response.authored_at.isoformat() == "2025-03-04T16:15:00+00:00"


def test_the_same_identifier_twice_is_stored_once_and_answers_with_the_first(personas):
    first = do_ingest_questionnaire_response(
        personas.patient, phq9_qr([0] * 9, identifier={"value": "a1"}), None
    )
    again = do_ingest_questionnaire_response(
        personas.patient, phq9_qr([3] * 9, identifier={"value": "a1"}), None
    )
    assert InstrumentResponse.objects.count() == 1
    assert again.response.pk == first.response.pk and again.http_status == 200
    assert again.response.total == 0


def test_a_bad_questionnaire_response_stores_nothing(personas):
    resource = phq9_qr([0] * 9)
    resource["item"][3]["answer"][0]["valueCoding"]["code"] = "LA18938-3"
    with pytest.raises(FhirInputError) as caught:
        do_ingest_questionnaire_response(personas.patient, resource, None)
    assert caught.value.outcome["issue"][0]["expression"] == [
        "QuestionnaireResponse.item[3].answer[0].valueCoding.code"
    ]
    assert not InstrumentResponse.objects.exists()


def test_a_response_authored_in_the_future_names_authored(personas):
    later = (timezone.now() + timedelta(days=2)).isoformat()
    with pytest.raises(FhirInputError) as caught:
        do_ingest_questionnaire_response(personas.patient, phq9_qr([0] * 9, authored=later), None)
    assert caught.value.outcome["issue"][0]["expression"] == ["QuestionnaireResponse.authored"]
