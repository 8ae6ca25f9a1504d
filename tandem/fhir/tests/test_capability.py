"""The CapabilityStatement is generated from the registry and says exactly what the routes do:
every declared search parameter is honoured, anything else is refused; each declared
interaction answers and each undeclared one is 405."""

from __future__ import annotations

import pytest
from django.urls import get_resolver

from tandem.fhir.registry import REGISTRY
from tandem.fhir.tests.helpers import fhir_as

SAMPLE = {
    "token": "x",
    "date": "ge2020-01-01",
    "reference": "1",
    "string": "a",
    "uri": "urn:tandem:questionnaire:phq-9",
}


def capability(personas) -> dict:
    return fhir_as(personas, "therapist").get("metadata").json()


@pytest.mark.django_db
def test_metadata_lists_every_registered_type_with_its_parameters(personas):
    rest = capability(personas)["rest"][0]
    listed = {r["type"]: r for r in rest["resource"]}
    assert set(listed) == set(REGISTRY)
    for name, rtype in REGISTRY.items():
        assert {p["name"]: p["type"] for p in listed[name]["searchParam"]} == {
            p.name: p.type for p in rtype.all_params().values()
        }
        assert [i["code"] for i in listed[name]["interaction"]] == list(rtype.interactions)
        assert sorted(listed[name].get("searchInclude", [])) == sorted(rtype.includes)


@pytest.mark.django_db
def test_metadata_needs_no_token(client):
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    assert response.json()["fhirVersion"] == "4.0.1"


def test_the_routes_are_the_four_interactions_bulk_data_and_transactions():
    resolver = get_resolver()
    names = {
        p.name
        for r in resolver.url_patterns
        if getattr(r, "namespace", None) == "fhir"
        for p in r.url_patterns
    }
    assert names == {"metadata", "type", "search", "read"} | BULK_AND_TRANSACTION_ROUTES


BULK_AND_TRANSACTION_ROUTES = {
    "root",
    "export",
    "export_patient",
    "export_group",
    "export_status",
    "export_file",
}


@pytest.mark.django_db
def test_metadata_declares_bulk_data_and_transactions_which_answer(personas):
    rest = capability(personas)["rest"][0]
    assert [o["name"] for o in rest["operation"]] == ["export"]
    assert {i["code"] for i in rest["interaction"]} == {"transaction", "batch"}
    listed = {r["type"]: r for r in rest["resource"]}
    assert listed["Patient"]["operation"][0]["definition"].endswith("/patient-export")
    assert listed["Group"]["operation"][0]["definition"].endswith("/group-export")
    api = fhir_as(personas, "therapist")
    assert api.get("$export", None, Prefer="respond-async").status_code == 202
    assert api.get("Patient/$export", None, Prefer="respond-async").status_code == 202
    assert (
        api.get(f"Group/caseload-{personas.therapist.pk}/$export", None, Prefer="respond-async").status_code
        == 202
    )
    empty = {"resourceType": "Bundle", "type": "transaction", "entry": []}
    assert api.post("", empty).status_code == 200


@pytest.mark.django_db
def test_every_declared_parameter_is_accepted_and_an_undeclared_one_refused(personas):
    api = fhir_as(personas, "therapist")
    for entry in capability(personas)["rest"][0]["resource"]:
        name = entry["type"]
        base = {"patient": personas.patient.pk} if name in ("Goal", "Condition") else {}
        for param in entry["searchParam"]:
            response = api.get(name, {**base, param["name"]: SAMPLE[param["type"]]})
            assert response.status_code == 200, (name, param, response.content)
        refused = api.get(name, {**base, "not-a-param": "1"})
        assert refused.status_code == 400
        assert "not-a-param" in refused.json()["issue"][0]["diagnostics"]
        for key in entry.get("searchInclude", []):
            assert api.get(name, {**base, "_include": key}).status_code == 200
        for key in REGISTRY[name].sorts:
            assert api.get(name, {**base, "_sort": f"-{key}"}).status_code == 200


@pytest.mark.django_db
def test_declared_interactions_answer_and_others_are_405(personas):
    api = fhir_as(personas, "therapist")
    for name, rtype in REGISTRY.items():
        assert api.get(f"{name}/123456").status_code == 404
        created = api.post(name, {"resourceType": name})
        if "create" in rtype.interactions:
            assert created.status_code in (400, 404, 422), name
        else:
            assert created.status_code == 405, name
    assert api.get("Medication").status_code == 404
