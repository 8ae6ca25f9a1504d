"""Every resource the API emits validates with fhir.resources (R4B), as do the Bundles, the
CapabilityStatement and the OperationOutcomes."""

from __future__ import annotations

import importlib

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome

from tandem.fhir.registry import REGISTRY
from tandem.fhir.tests.helpers import build_world, fhir_as


def model_for(resource_type: str):
    module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    return getattr(module, resource_type)


@pytest.mark.django_db
def test_every_resource_type_emits_valid_r4b_resources(personas):
    build_world(personas)
    seen: dict[str, int] = {}
    for persona in ("therapist", "patient", "org_admin"):
        api = fhir_as(personas, persona)
        for name in sorted(REGISTRY):
            query = {"patient": personas.patient.pk} if name in ("Goal", "Condition") else {}
            response = api.get(name, query)
            assert response.status_code == 200, (name, response.content)
            bundle = response.json()
            Bundle.model_validate(bundle)
            for entry in bundle.get("entry", []):
                model_for(name).model_validate(entry["resource"])
                seen[name] = seen.get(name, 0) + 1
                read = api.get(f"{name}/{entry['resource']['id']}")
                assert read.status_code == 200
                assert read["Content-Type"].startswith("application/fhir+json")
                model_for(name).model_validate(read.json())
    assert set(seen) == set(REGISTRY), f"no example of {set(REGISTRY) - set(seen)}"


@pytest.mark.django_db
def test_the_capability_statement_and_errors_validate(personas):
    api = fhir_as(personas, "therapist")
    CapabilityStatement.model_validate(api.get("metadata").json())
    for response in (api.get("Patient/999999"), api.get("Patient", {"bogus": "1"}), api.post("Patient", {})):
        assert response.status_code in (400, 404, 405)
        OperationOutcome.model_validate(response.json())
