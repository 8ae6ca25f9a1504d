"""Search parameters, paging, sorting and includes, with bounded queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tandem.fhir.tests.helpers import build_world, fhir_as, ids, record

QR = "QuestionnaireResponse"


@pytest.fixture
def world(personas):
    return build_world(personas)


def qr_ids(api, **params):
    response = api.get(QR, params)
    assert response.status_code == 200, response.content
    return sorted(ids(response.json()), key=int)


@pytest.mark.django_db
def test_date_prefixes_and_partial_dates(personas, world):
    api = fhir_as(personas, "therapist")
    old, mid, new = (str(r.pk) for r in world.pat_responses)
    moment = world.pat_responses[1].authored_at
    day = timezone.localtime(moment).date().isoformat()
    assert qr_ids(api, authored=day) == [mid]
    assert qr_ids(api, authored=f"eq{day}") == [mid]
    assert qr_ids(api, authored=f"ne{day}") == [old, new]
    assert qr_ids(api, authored=f"lt{day}") == [old]
    assert qr_ids(api, authored=f"eb{day}") == [old]
    assert qr_ids(api, authored=f"le{day}") == [old, mid]
    assert qr_ids(api, authored=f"gt{day}") == [new]
    assert qr_ids(api, authored=f"sa{day}") == [new]
    assert qr_ids(api, authored=f"ge{day}") == [mid, new]
    exact = moment.isoformat()
    assert qr_ids(api, authored=exact) == [mid]
    assert qr_ids(api, authored=f"gt{exact}") == [new]
    year = str(timezone.localtime(moment).year)
    assert mid in qr_ids(api, authored=year)
    month = timezone.localtime(moment).strftime("%Y-%m")
    assert mid in qr_ids(api, authored=month)
    both = api.get(QR, [("authored", f"ge{day}"), ("authored", f"le{day}")])
    assert ids(both.json()) == [mid]
    for bad in ("ap2024", "2024-13-01", "yesterday", "xx2024"):
        response = api.get(QR, {"authored": bad})
        assert response.status_code == 400, bad
        assert response.json()["issue"][0]["expression"] == ["authored"]


@pytest.mark.django_db
def test_patient_id_status_identifier_and_last_updated(personas, world):
    api = fhir_as(personas, "org_admin")
    pat = str(personas.patient.pk)
    assert ids(api.get("Patient", {"_id": pat}).json()) == [pat]
    assert ids(api.get("Patient", {"identifier": "urn:tandem:mrn:riverside|RC-2"}).json()) == [
        str(personas.other_patient.pk)
    ]
    assert ids(api.get("Patient", {"name": "oli"}).json()) == [str(personas.other_patient.pk)]
    assert ids(api.get("Patient", {"birthdate": "1990-05"}).json()) != []
    assert ids(api.get("Patient", {"birthdate": "lt1990"}).json()) == []
    team = fhir_as(personas, "therapist")
    for param in ("patient", "subject"):
        assert len(ids(team.get(QR, {param: f"Patient/{pat}"}).json())) == 3
    assert ids(team.get(QR, {"patient": "Practitioner/1"}).json()) == []
    assert ids(team.get("CarePlan", {"status": "active"}).json()) == [str(world.plan.pk)]
    assert ids(team.get("CarePlan", {"status": "draft,revoked"}).json()) == []
    assert len(ids(team.get("Consent", {"status": "active"}).json())) == 1
    assert ids(team.get("Flag", {"status": "inactive"}).json()) == []
    assert len(ids(team.get("Flag", {"status": "active"}).json())) == 1
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert ids(team.get(QR, {"_lastUpdated": f"gt{tomorrow}"}).json()) == []
    assert len(ids(team.get(QR, {"_lastUpdated": f"lt{tomorrow}"}).json())) == 3


@pytest.mark.django_db
def test_code_category_and_questionnaire(personas, world):
    api = fhir_as(personas, "therapist")
    assert len(ids(api.get("Observation", {"code": "http://loinc.org|44261-6"}).json())) == 3
    assert len(ids(api.get("Observation", {"code": "44261-6", "category": "survey"}).json())) == 3
    assert ids(api.get("Observation", {"code": "http://loinc.org|70274-6"}).json()) == []
    assert ids(api.get("Observation", {"code": "http://snomed.info/sct|44261-6"}).json()) == []
    labs = ids(api.get("Observation", {"category": "laboratory"}).json())  # see test_care_fhir
    assert labs and not any(i.startswith("score-") for i in labs)
    for reference in ("urn:tandem:questionnaire:phq-9", "Questionnaire/phq-9", "http://loinc.org/q/44249-1"):
        assert len(ids(api.get(QR, {"questionnaire": reference}).json())) == 3
    assert ids(api.get(QR, {"questionnaire": "Questionnaire/gad-7"}).json()) == []
    pat = personas.patient.pk
    assert ids(
        api.get("Condition", {"patient": pat, "code": "http://hl7.org/fhir/sid/icd-10-cm|F33.1"}).json()
    ) == [f"{world.plan.pk}-p1"]
    assert ids(api.get("Condition", {"patient": pat, "code": "F41.1"}).json()) == []
    assert ids(api.get("Goal", {"patient": pat, "lifecycle-status": "active"}).json()) == [
        f"{world.plan.pk}-g1",
        f"{world.plan.pk}-g2",
    ]
    assert api.get("Condition").status_code == 400  # names the patient
    assert ids(api.get("Questionnaire", {"url": "urn:tandem:questionnaire:gad-7"}).json()) == ["gad-7"]
    assert "phq-9" in ids(api.get("Questionnaire", {"name": "patient health"}).json())


@pytest.mark.django_db
def test_count_is_capped_and_next_links_walk_every_row_once(personas, world):
    for n in range(4):
        record(personas.patient, personas.patient_user, [0] * 9, f"page-key-{n}", 20 + n)
    api = fhir_as(personas, "therapist")
    seen: list[str] = []
    bundle = api.get(QR, {"_count": 2, "_sort": "authored"}).json()
    assert bundle["total"] == 7
    while True:
        seen += ids(bundle)
        nxt = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not nxt:
            break
        bundle = api.client.get(nxt[0], headers=api.headers).json()
    assert len(seen) == 7 and len(set(seen)) == 7
    assert api.get(QR, {"_count": 5000}).json()["link"][0]["url"].endswith("_count=200")
    only_total = api.get(QR, {"_count": 0}).json()
    assert only_total["total"] == 7 and "entry" not in only_total
    assert "total" not in api.get(QR, {"_total": "none"}).json()
    for bad in ({"_count": "-1"}, {"_count": "x"}, {"_offset": "99999999"}):
        assert api.get(QR, bad).status_code == 400


@pytest.mark.django_db
def test_sort_keys_come_from_an_allow_list(personas, world):
    api = fhir_as(personas, "therapist")
    oldest_first = ids(api.get(QR, {"_sort": "authored"}).json())
    newest_first = ids(api.get(QR, {"_sort": "-authored"}).json())
    assert oldest_first == list(reversed(newest_first)) == [str(r.pk) for r in world.pat_responses]
    refused = api.get(QR, {"_sort": "answers"})
    assert refused.status_code == 400
    assert "'answers'" in refused.json()["issue"][0]["diagnostics"]


@pytest.mark.django_db
def test_unknown_parameters_and_modifiers_are_refused_by_name(personas, world):
    api = fhir_as(personas, "therapist")
    response = api.get(QR, {"patient": personas.patient.pk, "colour": "red", "size": "1"})
    assert response.status_code == 400
    assert (
        "colour" in response.json()["issue"][0]["diagnostics"]
        and "size" in response.json()["issue"][0]["diagnostics"]
    )
    assert api.get(QR, {"patient:missing": "true"}).status_code == 400
    assert api.get(QR, {"_include": "QuestionnaireResponse:author"}).status_code == 400
    assert api.get(QR, {"_format": "xml"}).status_code == 406
    assert api.get(QR, {"patient": ""}).status_code == 200  # empty values are ignored


@pytest.mark.django_db
def test_includes_bring_the_referenced_resources(personas, world):
    api = fhir_as(personas, "therapist")
    bundle = api.get(
        QR,
        [("_include", "QuestionnaireResponse:questionnaire"), ("_include", "QuestionnaireResponse:patient")],
    ).json()
    assert sorted(ids(bundle, "include")) == sorted(["phq-9", str(personas.patient.pk)])
    obs = api.get("Observation", {"_include": "Observation:patient"}).json()
    assert ids(obs, "include") == [str(personas.patient.pk)]
    plan = api.get("CarePlan", {"_include": "CarePlan:subject"}).json()
    assert ids(plan, "include") == [str(personas.patient.pk)]


@pytest.mark.django_db
def test_post_search_takes_form_parameters(personas, world):
    api = fhir_as(personas, "therapist")
    response = api.client.post(
        f"/fhir/{QR}/_search",
        {"patient": personas.patient.pk, "_sort": "-authored"},
        headers=api.headers,
    )
    assert response.status_code == 200
    assert len(ids(response.json())) == 3


@pytest.mark.django_db
def test_a_search_costs_the_same_number_of_queries_for_1_or_30_rows(personas, world):
    api = fhir_as(personas, "org_admin")
    api.get("Patient")  # warm the token's last-used write and caches

    def queries(path: str, params: dict) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(path, params).status_code == 200
        return len(captured)

    few = queries("Patient", {"_include": "Patient:organization"})
    from tandem.lib.testing import make_patient

    for n in range(30):
        make_patient(personas.home, f"RC-X{n}", "Extra", f"Patient{n}")
    assert queries("Patient", {"_include": "Patient:organization"}) == few
    team = fhir_as(personas, "therapist")
    team.get(QR)
    with CaptureQueriesContext(connection) as small:
        team.get("Observation", {"_include": "Observation:patient"})
    for n in range(10):
        record(personas.patient, personas.patient_user, [1] * 9, f"count-key-{n}", 30 + n)
    with CaptureQueriesContext(connection) as large:
        team.get("Observation", {"_include": "Observation:patient"})
    assert len(large) == len(small) <= 25
