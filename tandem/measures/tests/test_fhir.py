"""FHIR: every definition as a valid Questionnaire; QuestionnaireResponses as LOINC publishes them
are read, bad ones answered with an OperationOutcome naming the element."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.questionnaire import Questionnaire

from tandem.measures.definitions import get, registry
from tandem.measures.fhir import FhirInputError, find_definition, parse_response, questionnaire
from tandem.measures.tests.helpers import LL, coded, qr

PHQ9_LINKS = list(get("phq-9").scoring.items)
GAD7_LINKS = list(get("gad-7").scoring.items)


def phq9_qr(values, *, ordinal=True, **extra):
    return qr(
        "http://loinc.org/q/44249-1",
        [coded(link, v, ordinal=ordinal) for link, v in zip(PHQ9_LINKS, values, strict=True)],
        **extra,
    )


@pytest.mark.parametrize("instrument", sorted(registry()))
def test_every_definition_is_served_as_a_valid_questionnaire(instrument):
    resource = questionnaire(get(instrument))
    parsed = Questionnaire.model_validate(resource)
    assert parsed.url == f"urn:tandem:questionnaire:{instrument}"
    assert [i.linkId for i in parsed.item] == [i.link_id for i in get(instrument).items]


def test_the_phq9_questionnaire_carries_loinc_codes_and_ordinal_values():
    resource = questionnaire(get("phq-9"))
    assert resource["code"][0]["code"] == "44249-1"
    item9 = resource["item"][8]
    assert item9["code"] == [{"system": "http://loinc.org", "code": "44260-8"}]
    assert item9["answerOption"][3]["valueCoding"]["code"] == "LA6571-9"
    assert item9["answerOption"][3]["extension"][0]["valueDecimal"] == 3


def test_the_cssrs_questionnaire_encodes_its_skip_logic():
    items = {i["linkId"]: i for i in questionnaire(get("c-ssrs-screener"))["item"]}
    assert items["/93249-1"]["enableWhen"][0]["question"] == "/93247-5"
    assert items["/93249-1"]["enableWhen"][0]["answerCoding"]["code"] == "LA33-6"
    assert "enableWhen" not in items["/93267-3"]


@pytest.mark.parametrize(
    ("reference", "instrument"),
    [
        ("urn:tandem:questionnaire:phq-9", "phq-9"),
        ("urn:tandem:questionnaire:gad-7|1.0.0", "gad-7"),
        ("Questionnaire/who-5", "who-5"),
        ("http://loinc.org/q/44249-1", "phq-9"),
        ("http://hl7.org/fhir/us/core/Questionnaire/AUDIT-C", "audit-c"),
        ("http://example.org/Questionnaire/69737-5", "gad-7"),
        ("http://example.org/Questionnaire/unknown", None),
    ],
)
def test_a_questionnaire_is_found_by_our_url_its_id_or_its_loinc_panel(reference, instrument):
    found = find_definition(reference)
    assert (found.id if found else None) == instrument


@pytest.mark.parametrize("ordinal", [True, False])
def test_a_phq9_with_or_without_ordinal_values_is_read(ordinal):
    parsed = parse_response(phq9_qr([0, 1, 2, 3, 0, 1, 2, 3, 1], ordinal=ordinal))
    assert parsed.definition.id == "phq-9"
    assert parsed.answers["/44260-8"] == LL[1][0]


def test_the_gad7_more_days_than_not_code_is_accepted_on_item_2():
    items = [coded(link, 0) for link in GAD7_LINKS]
    items[1] = coded("/68509-9", 2, code="LA18938-3")
    parsed = parse_response(qr("http://loinc.org/q/69737-5", items))
    assert parsed.answers["/68509-9"] == "LA18938-3"


def test_items_inside_a_group_and_the_senders_total_are_read():
    inner = [coded(link, 1) for link in PHQ9_LINKS]
    total = {"linkId": "/44261-6", "answer": [{"valueDecimal": 99}]}
    parsed = parse_response(qr("http://loinc.org/q/44249-1", [{"linkId": "/44249-1", "item": inner}, total]))
    assert len(parsed.answers) == 9
    assert parsed.sender_total == {"valueDecimal": 99}  # kept for the record, never used as the score


def test_link_ids_without_the_leading_slash_are_matched():
    items = [coded(link.lstrip("/"), 0) for link in PHQ9_LINKS]
    assert len(parse_response(qr("http://loinc.org/q/44249-1", items)).answers) == 9


def _issues(resource, **kwargs):
    with pytest.raises(FhirInputError) as caught:
        parse_response(resource, **kwargs)
    OperationOutcome.model_validate(caught.value.outcome)
    return {(i["expression"][0], i["code"]) for i in caught.value.outcome["issue"]}


def test_a_code_not_in_the_instrument_is_named_by_its_element():
    resource = phq9_qr([0] * 9)
    resource["item"][3]["answer"][0]["valueCoding"]["code"] = "LA18938-3"  # GAD-7 item 2 only
    assert _issues(resource) == {("QuestionnaireResponse.item[3].answer[0].valueCoding.code", "code-invalid")}


def test_an_ordinal_value_that_disagrees_with_its_code_is_refused():
    resource = phq9_qr([0] * 9)
    resource["item"][8]["answer"][0]["valueCoding"]["extension"][0]["valueDecimal"] = 2
    assert _issues(resource) == {
        ("QuestionnaireResponse.item[8].answer[0].valueCoding.extension[0].valueDecimal", "value")
    }


def test_an_out_of_range_integer_is_refused():
    resource = qr(
        "urn:tandem:questionnaire:fibser",
        [
            {"linkId": "frequency", "answer": [{"valueInteger": 1}]},
            {"linkId": "burden", "answer": [{"valueInteger": 9}]},
        ],
    )
    assert _issues(resource) == {("QuestionnaireResponse.item[1].answer[0].valueInteger", "value")}


def test_every_problem_is_listed_at_once():
    resource = phq9_qr([0] * 9)
    resource["item"][0]["answer"][0]["valueCoding"]["code"] = "LA0000-0"
    resource["item"][2]["answer"][0]["valueCoding"]["system"] = "http://snomed.info/sct"
    resource["item"].append({"linkId": "/12345-6", "answer": [{"valueString": "?"}]})
    resource["item"].append(coded("/44250-9", 1))
    assert _issues(resource) == {
        ("QuestionnaireResponse.item[0].answer[0].valueCoding.code", "code-invalid"),
        ("QuestionnaireResponse.item[2].answer[0].valueCoding.system", "code-invalid"),
        ("QuestionnaireResponse.item[9].linkId", "invalid"),
        ("QuestionnaireResponse.item[10].linkId", "invalid"),
    }


def test_wrong_answer_types_and_two_answers_are_refused():
    resource = phq9_qr([0] * 9)
    resource["item"][0]["answer"] = [{"valueString": "Not at all"}]
    resource["item"][1]["answer"].append(resource["item"][1]["answer"][0])
    assert _issues(resource) == {
        ("QuestionnaireResponse.item[0].answer[0]", "invalid"),
        ("QuestionnaireResponse.item[1].answer[1]", "invalid"),
    }


def test_an_unknown_questionnaire_is_not_found():
    assert _issues(qr("http://example.org/Questionnaire/mystery", [])) == {
        ("QuestionnaireResponse.questionnaire", "not-found")
    }


def test_a_resource_of_another_type_or_shape_is_a_structure_error():
    assert _issues({"resourceType": "Observation"}) == {("resourceType", "structure")}
    shapeless = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [{"text": "x"}],
        "authored": "yesterday",
    }
    assert _issues(shapeless) == {
        ("QuestionnaireResponse.item[0].linkId", "structure"),
        ("QuestionnaireResponse.authored", "structure"),
    }


def test_a_response_about_another_patient_or_entered_in_error_is_refused():
    resource = phq9_qr([0] * 9, subject={"reference": "Patient/999"}, status="entered-in-error")
    assert _issues(resource, patient_id=5) == {
        ("QuestionnaireResponse.subject", "business-rule"),
        ("QuestionnaireResponse.status", "business-rule"),
    }


def test_the_identifier_is_the_idempotency_key_and_without_one_the_content_is():
    one = parse_response(phq9_qr([0] * 9, identifier={"system": "urn:ehr", "value": "qr-1"}))
    assert one.idempotency_key == "fhir:urn:ehr|qr-1"
    same = parse_response(phq9_qr([0] * 9, id="x1"))
    again = parse_response(phq9_qr([0] * 9, id="x2"))
    other = parse_response(phq9_qr([1] + [0] * 8))
    assert same.idempotency_key == again.idempotency_key != other.idempotency_key
