"""Bulk Data $export: kick-off, polling, the worker's run, the manifest, the files, cancelling,
and who may do what (owners, tokens, scopes, Groups)."""

from __future__ import annotations

import importlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tandem.audit.models import Action, AuditEvent
from tandem.fhir import bulk_export
from tandem.fhir.bulk_export import claim, clean_up, run_export
from tandem.fhir.models import ExportJob, ExportStatus
from tandem.fhir.tests.helpers import Fhir, build_world, fhir_as, token_for

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


@pytest.fixture(autouse=True)
def exports_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def kick_off(api: Fhir, path: str = "$export", params=None, **headers):
    return api.get(path, params, **{**ASYNC, **headers})


def job_of(response) -> ExportJob:
    assert response.status_code == 202, response.content
    return ExportJob.objects.get(pk=response["Content-Location"].rsplit("/", 1)[1])


def status_path(job: ExportJob) -> str:
    return f"$export-status/{job.pk}"


def finished(api: Fhir, response) -> dict:
    job = job_of(response)
    assert run_export(job.pk) == ExportStatus.COMPLETED
    done = api.get(status_path(job))
    assert done.status_code == 200, done.content
    return done.json()


def download(api: Fhir, url: str) -> list[dict]:
    response = api.client.get(url, headers=api.headers)
    assert response.status_code == 200, url
    assert response["Content-Type"] == "application/fhir+ndjson"
    content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return [json.loads(line) for line in content.decode().splitlines()]


def model_for(name: str):
    return getattr(importlib.import_module(f"fhir.resources.R4B.{name.lower()}"), name)


@pytest.mark.django_db
def test_the_whole_lifecycle_from_kick_off_to_download(personas):
    world = build_world(personas)
    api = fhir_as(personas, "therapist")
    response = kick_off(api)
    job = job_of(response)
    assert response["Content-Location"].startswith("http://testserver/fhir/$export-status/")

    polled = api.get(status_path(job))
    assert polled.status_code == 202
    assert polled["X-Progress"] and polled["Retry-After"]

    assert run_export(job.pk) == ExportStatus.COMPLETED
    assert run_export(job.pk) == "not claimed"  # a second worker finds nothing to do
    done = api.get(status_path(job))
    assert done.status_code == 200
    manifest = done.json()
    assert manifest["requiresAccessToken"] is True and manifest["error"] == []
    assert manifest["request"].endswith("/fhir/$export")
    assert manifest["transactionTime"]
    by_type = {item["type"]: item for item in manifest["output"]}
    assert {"Patient", "QuestionnaireResponse", "Practitioner", "Organization"} <= set(by_type)
    assert "Group" not in by_type and "AuditEvent" not in by_type and "Questionnaire" not in by_type
    for name, item in by_type.items():
        resources = download(api, item["url"])
        assert len(resources) == item["count"]
        for resource in resources:
            assert resource["resourceType"] == name
            model_for(name).model_validate(resource)
    patients = {r["id"] for r in download(api, by_type["Patient"]["url"])}
    assert patients == {str(personas.patient.pk)}
    responses = {r["id"] for r in download(api, by_type["QuestionnaireResponse"]["url"])}
    assert responses == {str(r.pk) for r in world.pat_responses}
    exported = AuditEvent.objects.filter(action=Action.EXPORT, entity_id=str(job.pk), patient__isnull=False)
    assert list(exported.values_list("patient_id", flat=True)) == [personas.patient.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "headers", "needle"),
    [
        ({}, {"Prefer": ""}, "respond-async"),
        ({"_outputFormat": "text/csv"}, {}, "_outputFormat"),
        ({"_type": "Patient,Spaceship"}, {}, "Spaceship"),
        ({"_type": "Group"}, {}, "Group"),
        ({"_since": "yesterday"}, {}, "_since"),
        ({"_since": "2024-01-01T00:00:00"}, {}, "_since"),
        ({"_typeFilter": "Patient?name=x"}, {}, "_typeFilter"),
        ({}, {"Accept": "text/html"}, "Accept"),
    ],
)
def test_a_bad_kick_off_is_a_400_naming_what_is_wrong(personas, params, headers, needle):
    response = kick_off(fhir_as(personas, "therapist"), params=params, **headers)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
    assert needle in json.dumps(response.json())
    assert ExportJob.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["application/fhir+ndjson", "application/ndjson", "ndjson"])
def test_each_ndjson_output_format_is_accepted(personas, fmt):
    assert kick_off(fhir_as(personas, "therapist"), params={"_outputFormat": fmt}).status_code == 202


@pytest.mark.django_db
def test_type_and_since_narrow_the_export(personas):
    build_world(personas)
    api = fhir_as(personas, "therapist")
    manifest = finished(api, kick_off(api, params={"_type": "QuestionnaireResponse,Patient"}))
    assert [item["type"] for item in manifest["output"]] == ["Patient", "QuestionnaireResponse"]
    assert manifest["output"][1]["count"] == 3
    later = (timezone.now() + timedelta(days=1)).isoformat()
    manifest = finished(
        api, kick_off(api, params={"_type": "QuestionnaireResponse,Patient", "_since": later})
    )
    assert manifest["output"] == []


@pytest.mark.django_db
def test_another_users_job_is_404_and_the_files_go_to_the_same_token_only(personas):
    build_world(personas)
    api = fhir_as(personas, "therapist")
    manifest = finished(api, kick_off(api))
    job = ExportJob.objects.get()
    url = manifest["output"][0]["url"]
    prescriber = fhir_as(personas, "prescriber")
    missing = prescriber.get("$export-status/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert prescriber.get(status_path(job)).content == missing.content
    assert prescriber.client.get(url, headers=prescriber.headers).status_code == 404
    same_user_other_token = fhir_as(personas, "therapist")
    assert same_user_other_token.get(status_path(job)).status_code == 200
    assert same_user_other_token.client.get(url, headers=same_user_other_token.headers).status_code == 404
    assert Fhir(None).client.get(url).status_code == 401
    assert AuditEvent.objects.filter(action=Action.DENIED, entity_type="$export").count() >= 3


@pytest.mark.django_db
def test_delete_cancels_and_removes_the_files(personas):
    build_world(personas)
    api = fhir_as(personas, "therapist")
    manifest = finished(api, kick_off(api))
    job = ExportJob.objects.get()
    assert any(job.directory.iterdir())
    assert api.client.delete(f"/fhir/{status_path(job)}", headers=api.headers).status_code == 202
    assert not job.directory.exists()
    assert api.get(status_path(job)).status_code == 404
    assert api.client.get(manifest["output"][0]["url"], headers=api.headers).status_code == 404


@pytest.mark.django_db
def test_a_run_cancelled_meanwhile_stops_and_leaves_no_files(personas):
    build_world(personas)
    api = fhir_as(personas, "therapist")
    job = job_of(kick_off(api))
    claimed = claim(job.pk)
    assert claimed is not None
    api.client.delete(f"/fhir/{status_path(job)}", headers=api.headers)
    with pytest.raises(bulk_export.Cancelled):
        bulk_export._run(claimed)
    assert run_export(job.pk) == "not claimed"
    assert not AuditEvent.objects.filter(action=Action.EXPORT, patient__isnull=False).exists()


@pytest.mark.django_db
def test_scopes_decide_which_types_are_exported(personas):
    build_world(personas)
    narrow = Fhir(token_for(personas.therapist, "user/Patient.read"))
    refused = kick_off(narrow, params={"_type": "QuestionnaireResponse"})
    assert refused.status_code == 403
    assert "QuestionnaireResponse" in refused.json()["issue"][0]["diagnostics"]
    manifest = finished(narrow, kick_off(narrow))
    assert [item["type"] for item in manifest["output"]] == ["Patient"]
    nothing = Fhir(token_for(personas.therapist, "user/*.c"))
    assert kick_off(nothing).status_code == 403
    assert Fhir("tdm_nonsense").get("$export", None, Prefer="respond-async").status_code == 401


@pytest.mark.django_db
def test_a_patient_exports_their_own_record_only(personas):
    build_world(personas)
    api = Fhir(token_for(personas.patient_user, "patient/*.read"))
    manifest = finished(api, kick_off(api, "Patient/$export"))
    by_type = {item["type"]: item for item in manifest["output"]}
    assert {r["id"] for r in download(api, by_type["Patient"]["url"])} == {str(personas.patient.pk)}
    subjects = {r["subject"]["reference"] for r in download(api, by_type["QuestionnaireResponse"]["url"])}
    assert subjects == {f"Patient/{personas.patient.pk}"}


@pytest.mark.django_db
def test_an_outsider_exports_nothing_of_the_clinics_patients(personas):
    build_world(personas)
    api = fhir_as(personas, "outsider")
    manifest = finished(api, kick_off(api, "Patient/$export"))
    assert {item["type"] for item in manifest["output"]} <= {"Practitioner", "Organization"}


@pytest.mark.django_db
def test_a_group_export_holds_the_groups_members_only(personas):
    build_world(personas)
    admin = fhir_as(personas, "org_admin")
    group = f"org-{personas.home.pk}"
    manifest = finished(admin, kick_off(admin, f"Group/{group}/$export", params={"_type": "Patient"}))
    patients = {r["id"] for r in download(admin, manifest["output"][0]["url"])}
    assert patients == {str(personas.patient.pk), str(personas.other_patient.pk)}
    therapist = fhir_as(personas, "therapist")
    caseload = f"caseload-{personas.therapist.pk}"
    manifest = finished(therapist, kick_off(therapist, f"Group/{caseload}/$export"))
    by_type = {item["type"]: item for item in manifest["output"]}
    assert {r["id"] for r in download(therapist, by_type["Patient"]["url"])} == {str(personas.patient.pk)}
    hidden = kick_off(therapist, f"Group/caseload-{personas.colleague.pk}/$export")
    assert hidden.status_code == 404
    assert kick_off(therapist, "Group/caseload-999999/$export").content == hidden.content


@pytest.mark.django_db
def test_the_clean_up_job_removes_expired_exports_and_requeues_stalled_ones(personas):
    build_world(personas)
    api = fhir_as(personas, "therapist")
    finished(api, kick_off(api))
    done = ExportJob.objects.get()
    stalled = job_of(kick_off(api))
    ExportJob.objects.filter(pk=stalled.pk).update(created_at=timezone.now() - timedelta(hours=1))
    later = timezone.now() + timedelta(days=2)
    result = clean_up(later)
    assert result["removed"] == 1 and not done.directory.exists()
    assert not ExportJob.objects.filter(pk=done.pk).exists()
    # The test profile's queue runs a task at once: the stalled export was run.
    assert result["requeued"] == 1
    assert ExportJob.objects.get(pk=stalled.pk).status == ExportStatus.COMPLETED


@pytest.mark.django_db
def test_at_most_a_few_exports_run_per_user(personas):
    api = fhir_as(personas, "therapist")
    for _ in range(5):
        job_of(kick_off(api))
    assert kick_off(api).status_code == 429
