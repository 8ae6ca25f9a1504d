"""`tandem import` in bulk: a chunk's patients and responses stored together, with the same
checks, errors, audit rows and clinical rules as one by one."""

from __future__ import annotations

import copy
import importlib

import pytest
from django.db import transaction
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse, QuestionnaireResponseItem

from tandem.accounts.models import ApiToken
from tandem.audit.models import Action, AuditEvent
from tandem.audit.verify import verify_chain
from tandem.fhir.auth import Caller
from tandem.fhir.bulk_import import _reason
from tandem.fhir.errors import FhirError
from tandem.fhir.importer import Importer
from tandem.fhir.structure import RepeatedValidator
from tandem.fhir.tests.test_import import run, sender_patient, write_ndjson
from tandem.fhir.tests.test_transaction import response
from tandem.measures.actions import do_record_response
from tandem.measures.models import AdministeredBy, InstrumentResponse, Source
from tandem.measures.signals import job
from tandem.measures.signals.deferred import deferred_recompute
from tandem.measures.tests.helpers import answers
from tandem.patients.models import CareTeamMember, Patient
from tandem.safety.models import SafetyFlag, SafetyTrigger

command = importlib.import_module("tandem.fhir.management.commands.import")


def one_by_one_error(personas, resource: dict) -> str:
    """What the one-by-one path says of `resource` (nothing of it kept)."""
    user = personas.therapist
    caller = Caller(user, ApiToken(user=user, scopes=command.SCOPES), None)
    importer = Importer(command.command_request(user), caller)
    with pytest.raises(FhirError) as caught, transaction.atomic():
        importer.add(resource)
    return _reason(caught.value)


@pytest.mark.django_db
def test_a_bad_line_in_a_chunk_is_reported_and_the_others_are_stored_whole(personas, tmp_path):
    patient = personas.patient
    subject = f"Patient/{patient.pk}"
    bad_code = response("b-3", subject=subject)
    bad_code["item"][2]["answer"][0]["valueCoding"]["code"] = "LA0000-0"
    unknown_element = response("b-5", subject=subject)
    unknown_element["item"][0]["colour"] = "red"
    lines = [response(f"b-{n}", subject=subject) for n in range(1, 8)]
    lines[2], lines[4] = bad_code, unknown_element
    path = write_ndjson(tmp_path, lines)
    before = AuditEvent.objects.count()

    out, error, ok = run(path, "--as", personas.therapist.email)

    assert not ok and "2 failed" in error
    assert "5 created, 0 already there, 2 failed" in out
    problems = [line for line in out.splitlines() if line.startswith("line ")]
    assert problems == [
        f"line 3: {one_by_one_error(personas, bad_code)}",
        f"line 5: {one_by_one_error(personas, unknown_element)}",
    ]
    assert "QuestionnaireResponse.item" in problems[0] and "colour" in problems[1]
    stored = set(InstrumentResponse.objects.filter(patient=patient).values_list("fhir_identifier", flat=True))
    assert stored == {f"urn:ehr:responses|b-{n}" for n in (1, 2, 4, 6, 7)}
    created = AuditEvent.objects.filter(
        seq__gt=before, action=Action.CREATE, entity_type="QuestionnaireResponse"
    )
    assert sorted(int(e) for e in created.values_list("entity_id", flat=True)) == sorted(
        InstrumentResponse.objects.filter(patient=patient).values_list("pk", flat=True)
    )

    out, _, _ = run(path, "--as", personas.therapist.email)  # again: nothing twice
    assert "0 created, 5 already there, 2 failed" in out
    assert InstrumentResponse.objects.filter(patient=patient).count() == 5


@pytest.mark.django_db
def test_new_patients_their_care_team_and_every_write_are_audited_and_the_chain_verifies(personas, tmp_path):
    lines = [sender_patient(f"p{n}", f"BULK-{n}") for n in range(1, 5)]
    lines += [response(f"r-{n}", subject=f"Patient/p{n % 4 + 1}") for n in range(8)]
    path = write_ndjson(tmp_path, lines)
    before = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0

    out, _, ok = run(path, "--as", personas.therapist.email)

    assert ok and "12 created, 0 already there, 0 failed" in out
    patients = Patient.objects.filter(mrn__startswith="BULK-")
    assert patients.count() == 4
    members = CareTeamMember.objects.filter(patient__in=patients, user=personas.therapist)
    assert members.count() == 4 and {m.role for m in members} == {"therapist"}
    responses = InstrumentResponse.objects.filter(patient__in=patients)
    assert responses.count() == 8
    new = AuditEvent.objects.filter(seq__gt=before, action=Action.CREATE)
    expected = (
        {("Patient", str(p.pk)) for p in patients}
        | {("CareTeamMember", str(m.pk)) for m in members}
        | {("QuestionnaireResponse", str(r.pk)) for r in responses}
    )
    assert set(new.values_list("entity_type", "entity_id")) == expected
    assert new.count() == len(expected)
    assert all(e.actor_id == personas.therapist.pk for e in new)
    checked, problems = verify_chain()
    assert checked > 0 and problems == []

    out, _, _ = run(path, "--as", personas.therapist.email)
    assert "0 created, 12 already there, 0 failed" in out
    assert Patient.objects.filter(mrn__startswith="BULK-").count() == 4


@pytest.mark.django_db
def test_item_9_answered_in_an_import_raises_the_safety_flag(personas, tmp_path):
    patient = personas.patient
    subject = f"Patient/{patient.pk}"
    path = write_ndjson(
        tmp_path,
        [
            response("s-1", subject=subject),
            response("s-2", values=(1, 1, 1, 1, 1, 1, 0, 0, 1), subject=subject),  # item 9 = 1
        ],
    )
    assert not SafetyFlag.objects.filter(patient=patient).exists()

    out, _, ok = run(path, "--as", personas.therapist.email)

    assert ok and "2 created" in out
    flagged = InstrumentResponse.objects.get(patient=patient, fhir_identifier="urn:ehr:responses|s-2")
    assert flagged.safety_triggered and flagged.item9 == 1
    assert SafetyFlag.objects.filter(patient=patient).count() == 1
    triggers = SafetyTrigger.objects.filter(flag__patient=patient)
    assert [t.response_id for t in triggers] == [flagged.pk]


@pytest.mark.django_db
def test_item_9_at_zero_raises_no_flag(personas, tmp_path):
    patient = personas.patient
    path = write_ndjson(tmp_path, [response("z-1", subject=f"Patient/{patient.pk}")])
    run(path, "--as", personas.therapist.email)
    assert InstrumentResponse.objects.filter(patient=patient).count() == 1
    assert not SafetyFlag.objects.filter(patient=patient).exists()


@pytest.fixture
def evaluations(monkeypatch):
    calls: list[list[int]] = []

    def record(patient_ids, now, run=None, **kwargs):
        calls.append(list(patient_ids))
        return job.SignalRun(states={})

    monkeypatch.setattr(job, "evaluate", record)
    return calls


def store(patient: Patient, key: str) -> None:
    do_record_response(
        patient,
        instrument="phq-9",
        answers=answers("phq-9", [1, 1, 1, 1, 1, 1, 0, 0, 0]),
        administered_by=AdministeredBy.CLINICIAN,
        source=Source.CLINICIAN,
        idempotency_key=key,
        acting_user=None,
    )


@pytest.mark.django_db
def test_deferred_recompute_evaluates_each_patient_once(
    personas, evaluations, django_capture_on_commit_callbacks
):
    one, other = personas.patient, personas.other_patient
    with django_capture_on_commit_callbacks(execute=True):
        with deferred_recompute() as noted:
            for n in range(3):
                store(one, f"deferred-one-{n}")
            for n in range(2):
                store(other, f"deferred-other-{n}")
            with deferred_recompute():  # nested: the outer block evaluates
                store(one, "deferred-one-nested")
            assert evaluations == []
        assert noted == {one.pk, other.pk}
    assert evaluations == [sorted([one.pk, other.pk])]


@pytest.mark.django_db
def test_without_deferral_each_response_recomputes(personas, evaluations, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        store(personas.patient, "plain-one")
        store(personas.patient, "plain-two")
    assert evaluations == [[personas.patient.pk], [personas.patient.pk]]


@pytest.mark.django_db
def test_an_import_recomputes_each_patient_once_per_chunk(
    personas, tmp_path, evaluations, django_capture_on_commit_callbacks
):
    lines = [sender_patient("p1", "DEF-1"), sender_patient("p2", "DEF-2")]
    lines += [response(f"c-{n}", subject=f"Patient/p{n % 2 + 1}") for n in range(6)]
    path = write_ndjson(tmp_path, lines)
    with django_capture_on_commit_callbacks(execute=True):
        out, _, ok = run(path, "--as", personas.therapist.email)
    assert ok and "8 created" in out
    new = sorted(Patient.objects.filter(mrn__startswith="DEF-").values_list("pk", flat=True))
    assert evaluations == [new]


def test_validating_without_the_repeated_items_says_what_the_full_validation_says():
    validator = RepeatedValidator(QuestionnaireResponse, "item", QuestionnaireResponseItem)
    good = response("v-1", subject="Patient/1")
    variants = [good, copy.deepcopy(good)]
    variants[1]["item"][0]["colour"] = "red"  # unknown element inside an item
    variants.append({**good, "item": [*good["item"], None]})  # a null in the list
    variants.append({**good, "status": 7})  # wrong type at the top
    variants.append({**good, "item": []})
    variants.append({**good, "item": "not a list"})
    nested = copy.deepcopy(good)
    nested["item"][1]["answer"][0]["valueCoding"]["code"] = ["LA6568-5"]  # wrong type, deep
    variants.append(nested)
    for resource in variants + variants:  # the second time, remembered items
        try:
            QuestionnaireResponse.model_validate(resource)
            expected = True
        except Exception:
            expected = False
        assert validator.is_valid(resource) is expected, resource
    assert validator.is_valid(good) and not validator.is_valid(nested)
