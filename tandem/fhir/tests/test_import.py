"""`tandem import`: NDJSON and Bundle files through the same code as the transaction Bundle; a
bad line is reported by number and never stops, nor half-writes, another."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tandem.fhir.tests.test_transaction import ehr_patient, import_bundle, response
from tandem.measures.models import InstrumentResponse
from tandem.patients.models import Patient


def run(path, *args: str) -> tuple[str, str, bool]:
    out, err = StringIO(), StringIO()
    try:
        call_command("import", str(path), *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), str(exc), False
    return out.getvalue(), err.getvalue(), True


def sender_patient(source_id: str, mrn: str, **changes) -> dict:
    resource = {**ehr_patient(mrn), "id": source_id, **changes}
    return resource


def write_ndjson(tmp_path, lines: list) -> object:
    path = tmp_path / "export.ndjson"
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", encoding="utf-8"
    )
    return path


@pytest.mark.django_db
def test_ndjson_lines_are_imported_and_bad_ones_listed_by_number(personas, tmp_path):
    bad_code = response("n-3", subject="Patient/p1")
    bad_code["item"][0]["answer"][0]["valueCoding"]["code"] = "LA0000-0"
    no_birth = sender_patient("p2", "EHR-2")
    del no_birth["birthDate"]
    path = write_ndjson(
        tmp_path,
        [
            response("n-1", subject="Patient/p1"),  # line 1: before its patient, still imported
            "{this is not json",  # line 2
            sender_patient("p1", "EHR-1"),  # line 3
            bad_code,  # line 4
            no_birth,  # line 5
            response("n-5", subject="Patient/p2"),  # line 6: its patient failed
            "",
            response("n-2", subject="Patient/p1"),  # line 8
        ],
    )
    out, error, ok = run(path, "--as", personas.therapist.email)
    assert not ok and "3 failed" not in error and "4 failed" in error
    listed = [line.split(":")[0] for line in out.splitlines() if line.startswith("line ")]
    assert listed == ["line 2", "line 4", "line 5", "line 6"]
    assert "Bundle" not in out and "birthDate" in out and "Patient/p2" in out
    assert "3 created, 0 already there, 4 failed" in out
    patient = Patient.objects.get(mrn="EHR-1")
    stored = InstrumentResponse.objects.filter(patient=patient).values_list("fhir_identifier", flat=True)
    assert sorted(stored) == ["urn:ehr:responses|n-1", "urn:ehr:responses|n-2"]
    assert not Patient.objects.filter(mrn="EHR-2").exists()
    assert InstrumentResponse.objects.count() == 2

    out, _, ok = run(path, "--as", personas.therapist.email)
    assert "0 created, 3 already there, 4 failed" in out
    assert InstrumentResponse.objects.count() == 2


@pytest.mark.django_db
def test_a_transaction_bundle_file_is_all_or_nothing(personas, tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(import_bundle()), encoding="utf-8")
    out, _, ok = run(path, "--as", personas.therapist.email)
    assert ok and "3 created, 0 already there, 0 failed" in out
    broken = import_bundle()
    broken["entry"][2]["resource"]["identifier"][0]["value"] = "EHR-NEW"
    broken["entry"][0]["resource"]["status"] = "entered-in-error"
    path.write_text(json.dumps(broken), encoding="utf-8")
    out, _, ok = run(path, "--as", personas.therapist.email)
    assert not ok and "nothing was imported" in out and "status" in out
    assert not Patient.objects.filter(mrn="EHR-NEW").exists()


@pytest.mark.django_db
def test_a_collection_bundle_is_imported_entry_by_entry(personas, tmp_path):
    body = import_bundle()
    body["type"] = "collection"
    for item in body["entry"]:
        del item["request"]
    body["entry"][0]["resource"]["item"][0]["answer"][0]["valueCoding"]["code"] = "LA0000-0"
    path = tmp_path / "collection.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    out, _, ok = run(path, "--format", "bundle", "--as", personas.therapist.email)
    assert not ok
    assert "2 created, 0 already there, 1 failed" in out and out.startswith("entry 0:")


@pytest.mark.django_db
def test_the_organisation_and_the_user_are_checked(personas, tmp_path):
    path = write_ndjson(tmp_path, [sender_patient("p1", "EHR-1")])
    with pytest.raises(CommandError, match="--as"):
        call_command("import", str(path), stdout=StringIO())
    with pytest.raises(CommandError, match="no organisation"):
        call_command("import", str(path), "--as", personas.therapist.email, "--organisation", "nowhere")
    out, _, ok = run(path, "--as", personas.therapist.email, "--organisation", personas.other_org.slug)
    assert not ok and "not a member" in out
    out, err, ok = run(path, "--as", personas.org_admin.email, "--organisation", personas.home.slug)
    assert ok and "1 created" in out
    assert "\r" not in err  # no progress bar without a terminal
