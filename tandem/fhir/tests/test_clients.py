"""Clients nobody here wrote read and search the server: SMART's fhirclient (which also parses
every resource into its strict R4 models) and fhirpy."""

from __future__ import annotations

import pytest
from fhirclient import client as smart_client
from fhirclient.models.bundle import Bundle as SmartBundle
from fhirclient.models.careplan import CarePlan as SmartCarePlan
from fhirclient.models.observation import Observation as SmartObservation
from fhirclient.models.patient import Patient as SmartPatient
from fhirclient.models.questionnaireresponse import QuestionnaireResponse as SmartQR
from fhirpy import SyncFHIRClient

from tandem.fhir.tests.helpers import build_world, record, token_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_fhirclient_reads_and_searches(live_server, personas):
    world = build_world(personas)
    smart = smart_client.FHIRClient(
        settings={"app_id": "tandem-tests", "api_base": f"{live_server.url}/fhir/"}
    )
    smart.server.session.headers["Authorization"] = f"Bearer {token_for(personas.therapist)}"
    patient = SmartPatient.read(str(personas.patient.pk), smart.server)
    assert patient.name[0].family == "Patient"
    assert patient.birthDate.isostring == "1990-05-17"
    plan = SmartCarePlan.read(str(world.plan.pk), smart.server)
    assert plan.subject.reference == f"Patient/{personas.patient.pk}"
    search = SmartObservation.where(struct={"patient": str(personas.patient.pk), "category": "survey"})
    scores = list(search.perform_resources_iter(smart.server))
    assert sorted(o.valueQuantity.value for o in scores) == sorted(r.total or 0 for r in world.pat_responses)
    bundle = next(
        SmartQR.where(struct={"_include": "QuestionnaireResponse:questionnaire"}).perform_iter(smart.server)
    )
    assert isinstance(bundle, SmartBundle) and bundle.total == 3
    assert {e.resource.resource_type for e in bundle.entry} == {"QuestionnaireResponse", "Questionnaire"}
    with pytest.raises(Exception, match="404"):
        SmartPatient.read(str(personas.other_patient.pk), smart.server)


def test_fhirpy_reads_searches_and_follows_next_links(live_server, personas):
    build_world(personas)
    for n in range(5):
        record(personas.patient, personas.patient_user, [0] * 9, f"fhirpy-key-{n}", 50 + n)
    fhir = SyncFHIRClient(f"{live_server.url}/fhir", authorization=f"Bearer {token_for(personas.therapist)}")
    patient = fhir.reference("Patient", str(personas.patient.pk)).to_resource()
    assert patient["name"][0]["given"] == ["Pat"]
    responses = fhir.resources("QuestionnaireResponse").search(patient=personas.patient.pk).limit(3)
    everything = responses.fetch_all()  # three pages of at most three
    assert len(everything) == 8 and len({r.id for r in everything}) == 8
    # fhirpy's count() sends Aidbox's _totalMethod, which strict handling refuses; _count=0 counts.
    counted = fhir.resources("QuestionnaireResponse").search(patient=personas.patient.pk).limit(0).fetch_raw()
    assert counted["total"] == 8
    recent = (
        fhir.resources("Observation").search(date__ge="2000-01-01", code="http://loinc.org|44261-6").fetch()
    )
    assert len(recent) == 8
    assert fhir.resources("Patient").search(_id=personas.other_patient.pk).fetch() == []
    outsider = SyncFHIRClient(
        f"{live_server.url}/fhir", authorization=f"Bearer {token_for(personas.outsider)}"
    )
    assert outsider.resources("Observation").fetch() == []
