"""POST /fhir/ with a transaction (all or nothing) or batch Bundle: a patient from an EHR with
their questionnaire responses, references between entries by urn:uuid, and every refusal an
OperationOutcome naming the entry and the element, with nothing written."""

from __future__ import annotations

import copy
import json

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome

from tandem.audit.models import Action, AuditEvent
from tandem.fhir.tests.helpers import Fhir, fhir_as, token_for
from tandem.fhir.transaction import MAX_ENTRIES
from tandem.measures.models import InstrumentResponse
from tandem.measures.tests.test_fhir import phq9_qr
from tandem.patients.models import CareTeamMember, Patient

PATIENT_URL = "urn:uuid:0d6c3b4e-2a55-4c3c-9d59-7f1b1f1a0001"
EHR = "urn:oid:2.16.840.1.113883.19.5"


def ehr_patient(mrn: str = "EHR-77") -> dict:
    return {
        "resourceType": "Patient",
        "identifier": [
            {
                "type": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]
                },
                "system": EHR,
                "value": mrn,
            }
        ],
        "name": [{"use": "official", "family": "Imported", "given": ["Ines"]}],
        "birthDate": "1985-03-02",
        "telecom": [{"system": "phone", "value": "+1 555 0100"}],
        "communication": [
            {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es"}]}, "preferred": True}
        ],
    }


def response(identifier: str, values=(1, 1, 1, 1, 1, 1, 0, 0, 0), subject: str = PATIENT_URL) -> dict:
    resource = phq9_qr(list(values), subject={"reference": subject}, authored="2024-05-17T09:30:00+02:00")
    resource["identifier"] = {"system": "urn:ehr:responses", "value": identifier}
    return resource


def entry(resource: dict, full_url: str = "") -> dict:
    found = {"resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}}
    return {"fullUrl": full_url, **found} if full_url else found


def bundle(*entries: dict, kind: str = "transaction") -> dict:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def import_bundle() -> dict:
    # The responses come first: the references decide the order, not the Bundle.
    return bundle(entry(response("r-1")), entry(response("r-2")), entry(ehr_patient(), PATIENT_URL))


@pytest.mark.django_db
def test_a_patient_and_their_responses_are_imported_together(personas):
    api = fhir_as(personas, "therapist")
    answer = api.post("", import_bundle())
    assert answer.status_code == 200, answer.content
    body = answer.json()
    Bundle.model_validate(body)
    assert body["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in body["entry"]]
    assert statuses == ["201 Created"] * 3
    patient = Patient.objects.get(mrn="EHR-77")
    assert body["entry"][2]["response"]["location"] == f"Patient/{patient.pk}"
    assert (patient.organisation, patient.given_name, patient.preferred_language) == (
        personas.home,
        "Ines",
        "es",
    )
    assert CareTeamMember.objects.filter(patient=patient, user=personas.therapist, role="therapist").exists()
    stored = InstrumentResponse.objects.filter(patient=patient)
    assert stored.count() == 2
    locations = {e["response"]["location"] for e in body["entry"][:2]}
    assert {f"QuestionnaireResponse/{r.pk}" for r in stored} == locations
    assert AuditEvent.objects.filter(action=Action.CREATE, entity_type="Patient", patient=patient).exists()


@pytest.mark.django_db
def test_the_same_bundle_again_matches_what_is_there(personas):
    api = fhir_as(personas, "therapist")
    api.post("", import_bundle())
    again = api.post("", import_bundle())
    assert [e["response"]["status"] for e in again.json()["entry"]] == ["200 OK"] * 3
    assert Patient.objects.filter(mrn="EHR-77").count() == 1
    assert InstrumentResponse.objects.count() == 2


def assert_nothing_written(before: int) -> None:
    assert not Patient.objects.filter(mrn="EHR-77").exists()
    assert InstrumentResponse.objects.count() == 0
    assert AuditEvent.objects.filter(action=Action.CREATE).count() == before


@pytest.mark.django_db
def test_one_bad_entry_writes_nothing_and_is_named_with_its_element(personas):
    api = fhir_as(personas, "therapist")
    bad = import_bundle()
    bad["entry"][1]["resource"]["item"][2]["answer"][0]["valueCoding"]["code"] = "LA0000-0"
    before = AuditEvent.objects.filter(action=Action.CREATE).count()
    answer = api.post("", bad)
    assert answer.status_code == 422
    outcome = answer.json()
    OperationOutcome.model_validate(outcome)
    assert outcome["issue"][0]["expression"] == [
        "Bundle.entry[1].resource.item[2].answer[0].valueCoding.code"
    ]
    assert outcome["issue"][0]["diagnostics"].startswith("entry 1 (QuestionnaireResponse)")
    assert_nothing_written(before)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "status", "needle"),
    [
        (
            lambda b: b["entry"][0]["resource"].update(subject={"reference": "urn:uuid:nobody"}),
            400,
            "entry[0]",
        ),
        (
            lambda b: b["entry"][2]["resource"].pop("birthDate"),
            422,
            "Patient.birthDate".replace("Patient", "Bundle.entry[2].resource"),
        ),
        (lambda b: b["entry"][2]["resource"].update(colour="red"), 400, "colour"),
        (lambda b: b["entry"][0]["request"].update(method="PUT"), 422, "Bundle.entry[0].request.method"),
        (lambda b: b["entry"][0]["request"].update(url="Patient"), 400, "Bundle.entry[0].request.url"),
        (lambda b: b.update(type="collection"), 400, "Bundle.type"),
        (lambda b: b.update(resourceType="Patient"), 400, "Bundle"),
        (lambda b: b["entry"][1].update(fullUrl=PATIENT_URL), 400, "used twice"),
    ],
)
def test_a_bad_bundle_is_refused_whole(personas, change, status, needle):
    api = fhir_as(personas, "therapist")
    body = import_bundle()
    change(body)
    before = AuditEvent.objects.filter(action=Action.CREATE).count()
    answer = api.post("", body)
    assert answer.status_code == status, answer.content
    assert needle in json.dumps(answer.json())
    assert_nothing_written(before)


@pytest.mark.django_db
def test_an_oversized_bundle_is_413(personas):
    api = fhir_as(personas, "therapist")
    entries = [entry(response(f"r-{n}")) for n in range(MAX_ENTRIES + 1)]
    assert api.post("", bundle(*entries)).status_code == 413
    assert api.post("", "{not json").status_code == 400
    assert api.post("", "{}", content_type="text/plain").status_code == 415


@pytest.mark.django_db
def test_a_patient_the_caller_may_not_write_to_is_the_404_of_a_missing_one(personas):
    api = fhir_as(personas, "therapist")
    theirs = bundle(
        entry(ehr_patient()), entry(response("r-1", subject=f"Patient/{personas.other_patient.pk}"))
    )
    missing = bundle(entry(ehr_patient()), entry(response("r-1", subject="Patient/987654")))
    answer = api.post("", theirs)
    assert answer.status_code == 404
    assert answer.json()["issue"][0]["expression"] == ["Bundle.entry[1].resource"]
    assert answer.content == api.post("", missing).content
    assert not Patient.objects.filter(mrn="EHR-77").exists()
    assert AuditEvent.objects.filter(action=Action.DENIED, entity_type="QuestionnaireResponse").exists()


@pytest.mark.django_db
def test_an_mrn_already_taken_by_a_patient_the_caller_cannot_open_is_409(personas):
    api = fhir_as(personas, "therapist")
    answer = api.post("", bundle(entry(ehr_patient(mrn=personas.other_patient.mrn))))
    assert answer.status_code == 409
    assert answer.json()["issue"][0]["expression"] == ["Bundle.entry[0].resource.identifier"]


@pytest.mark.django_db
def test_a_batch_stores_each_entry_on_its_own(personas):
    api = fhir_as(personas, "therapist")
    good = response("b-1", subject=f"Patient/{personas.patient.pk}")
    bad = copy.deepcopy(good)
    bad["identifier"]["value"] = "b-2"
    bad["item"][0]["answer"][0]["valueCoding"]["code"] = "LA0000-0"
    answer = api.post("", bundle(entry(bad), entry(good), kind="batch"))
    assert answer.status_code == 200
    body = answer.json()
    Bundle.model_validate(body)
    assert body["type"] == "batch-response"
    assert body["entry"][0]["response"]["status"].startswith("422")
    assert "entry 0" in body["entry"][0]["response"]["outcome"]["issue"][0]["diagnostics"]
    assert body["entry"][1]["response"]["status"] == "201 Created"
    assert InstrumentResponse.objects.filter(fhir_identifier="urn:ehr:responses|b-1").count() == 1


@pytest.mark.django_db
def test_scopes_and_roles_decide_who_imports_patients(personas):
    no_patient_scope = Fhir(token_for(personas.therapist, "user/*.read user/QuestionnaireResponse.c"))
    assert no_patient_scope.post("", import_bundle()).status_code == 403
    patient = Fhir(token_for(personas.patient_user, "patient/*.read patient/*.c user/*.c"))
    assert patient.post("", import_bundle()).status_code == 403
    assert not Patient.objects.filter(mrn="EHR-77").exists()
    admin = fhir_as(personas, "org_admin")
    answer = admin.post("", bundle(entry(ehr_patient())))
    assert answer.status_code == 200
    created = Patient.objects.get(mrn="EHR-77")
    assert not CareTeamMember.objects.filter(patient=created).exists()
