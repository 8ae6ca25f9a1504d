"""POST /fhir/QuestionnaireResponse: the portal's action (scored, stored once, the safety
workflow run), If-None-Exist, and bad input answered with an OperationOutcome — never a 500,
nothing stored."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from tandem.audit.models import Action, AuditEvent
from tandem.fhir.http import MAX_BODY_BYTES
from tandem.fhir.tests.helpers import fhir_as, ids
from tandem.measures.models import InstrumentResponse
from tandem.measures.tests.test_fhir import phq9_qr
from tandem.safety.models import SafetyFlag

QR = "QuestionnaireResponse"
SYSTEM = "urn:ehr:responses"


def body(personas, values=(1, 1, 1, 1, 1, 1, 0, 0, 0), identifier="r-1", **extra):
    resource = phq9_qr(
        list(values),
        subject={"reference": f"Patient/{personas.patient.pk}"},
        authored="2024-05-17T09:30:00+02:00",
        **extra,
    )
    if identifier:
        resource["identifier"] = {"system": SYSTEM, "value": identifier}
    return resource


@pytest.mark.django_db
def test_a_care_team_clinician_creates_a_scored_response(personas):
    api = fhir_as(personas, "therapist")
    response = api.post(QR, body(personas))
    assert response.status_code == 201, response.content
    created = response.json()
    assert response["Location"].endswith(f"/fhir/{QR}/{created['id']}")
    stored = InstrumentResponse.objects.get(pk=created["id"])
    assert (stored.total, stored.source, stored.fhir_identifier) == (6, "fhir", f"{SYSTEM}|r-1")
    assert created["identifier"] == {"system": SYSTEM, "value": "r-1"}
    observation = api.get(f"Observation/score-{stored.pk}").json()
    assert observation["valueQuantity"]["value"] == 6
    assert observation["interpretation"][0]["coding"][0]["code"] == "mild"
    assert AuditEvent.objects.filter(action=Action.CREATE, entity_type=QR, entity_id=str(stored.pk)).exists()


@pytest.mark.django_db
def test_the_same_identifier_is_stored_once_and_if_none_exist_returns_it(personas):
    api = fhir_as(personas, "therapist")
    first = api.post(QR, body(personas)).json()
    again = api.post(QR, body(personas))
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    conditional = api.post(
        QR, body(personas, identifier="r-2"), **{"If-None-Exist": f"identifier={SYSTEM}|r-1"}
    )
    assert conditional.status_code == 200 and conditional.json()["id"] == first["id"]
    assert InstrumentResponse.objects.count() == 1
    fresh = api.post(QR, body(personas, identifier="r-3"), **{"If-None-Exist": f"identifier={SYSTEM}|r-3"})
    assert fresh.status_code == 201
    assert api.post(QR, body(personas), **{"If-None-Exist": "colour=red"}).status_code == 400


@pytest.mark.django_db
def test_if_none_exist_matching_two_is_412(personas):
    api = fhir_as(personas, "therapist")
    api.post(QR, body(personas, identifier="a"))
    api.post(QR, body(personas, identifier="b"))
    response = api.post(
        QR, body(personas, identifier="c"), **{"If-None-Exist": "questionnaire=Questionnaire/phq-9"}
    )
    assert response.status_code == 412


@pytest.mark.django_db
def test_a_positive_item_9_runs_the_safety_workflow(personas):
    response = fhir_as(personas, "therapist").post(QR, body(personas, values=(0, 0, 0, 0, 0, 0, 0, 0, 2)))
    assert response.status_code == 201
    assert SafetyFlag.objects.filter(patient=personas.patient, status="open").exists()


@pytest.mark.django_db
def test_the_patient_submits_their_own_with_a_patient_scope(personas):
    from tandem.fhir.tests.helpers import Fhir, token_for

    api = Fhir(token_for(personas.patient_user, "patient/QuestionnaireResponse.c"))
    assert api.post(QR, body(personas)).status_code == 201
    other = body(personas)
    other["subject"] = {"reference": f"Patient/{personas.other_patient.pk}"}
    assert api.post(QR, other).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona", ["consultant", "consented", "outsider", "colleague", "org_admin", "other_patient"]
)
def test_who_may_not_administer_gets_the_404_of_a_missing_patient(personas, persona):
    api = fhir_as(personas, persona)
    response = api.post(QR, body(personas))
    missing = body(personas)
    missing["subject"] = {"reference": "Patient/987654"}
    assert response.status_code == 404
    assert response.content == api.post(QR, missing).content
    assert InstrumentResponse.objects.count() == 0


@pytest.mark.django_db
def test_a_token_without_the_create_scope_is_403(personas):
    response = fhir_as(personas, "therapist", "user/*.read").post(QR, body(personas))
    assert response.status_code == 403


@pytest.mark.django_db
def test_bad_input_is_an_operation_outcome_naming_what_is_wrong(personas):
    api = fhir_as(personas, "therapist")
    wrong_code = body(personas)
    wrong_code["item"][2]["answer"][0]["valueCoding"]["code"] = "LA0000-0"
    unknown = body(personas)
    unknown["colour"] = "red"
    no_subject = body(personas)
    del no_subject["subject"]
    cases = [
        ("{not json", 400, "not valid JSON"),
        ("[1, 2]", 400, "JSON object"),
        ("", 400, "empty"),
        ('{"resourceType": "QuestionnaireResponse", "x": NaN}', 400, "NaN"),
        ("[" * 5000 + "]" * 5000, 400, "nested deeper"),
        (json.dumps({"resourceType": "Patient"}), 400, "resourceType"),
        (json.dumps(unknown), 400, "colour"),
        (json.dumps(wrong_code), 422, "item[2].answer[0].valueCoding.code"),
        (json.dumps(no_subject), 422, "subject"),
        ('{"a": "' + "x" * (MAX_BODY_BYTES + 1) + '"}', 413, "larger"),
    ]
    for text, status, needle in cases:
        response = api.post(QR, text)
        assert response.status_code == status, (needle, response.status_code, response.content[:300])
        outcome = response.json()
        OperationOutcome.model_validate(outcome)
        assert needle in json.dumps(outcome), (needle, outcome)
    assert api.post(QR, "{}", content_type="text/plain").status_code == 415
    assert InstrumentResponse.objects.count() == 0


@pytest.mark.django_db
def test_a_created_response_reads_back_and_is_found_by_identifier(personas):
    api = fhir_as(personas, "therapist")
    created = api.post(QR, body(personas, identifier="find-me")).json()
    assert api.get(f"{QR}/{created['id']}").json()["item"][0]["answer"][0]["valueCoding"]["code"]
    assert ids(api.get(QR, {"identifier": f"{SYSTEM}|find-me"}).json()) == [created["id"]]
    assert ids(api.get(QR, {"identifier": "find-me"}).json()) == [created["id"]]
