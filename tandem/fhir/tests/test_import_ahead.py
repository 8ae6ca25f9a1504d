"""`tandem import` with its second process (tandem.fhir.bulk_ahead): the same rows, errors and
audit as the importing process alone; a failing second process changes nothing; no process is
left behind; the insert built once (tandem.lib.fast_insert) sends what bulk_create sends."""

from __future__ import annotations

import gc
import importlib
import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from tandem.accounts.models import ApiToken
from tandem.audit.models import AuditEvent
from tandem.fhir import bulk_import
from tandem.fhir.auth import Caller
from tandem.fhir.bulk_ahead import Outbox
from tandem.fhir.bulk_chunks import BulkStore
from tandem.fhir.bulk_import import Report, _NdjsonImport, import_ndjson
from tandem.fhir.importer import Importer
from tandem.fhir.tests.test_import import sender_patient, write_ndjson
from tandem.fhir.tests.test_transaction import response
from tandem.lib.fast_insert import FastInsert
from tandem.measures.models import AdministeredBy, InstrumentResponse, Source
from tandem.safety.models import SafetyTrigger

command = importlib.import_module("tandem.fhir.management.commands.import")


def importer_for(user: Any) -> Importer:
    return Importer(
        command.command_request(user), Caller(user, ApiToken(user=user, scopes=command.SCOPES), None)
    )


def lines(personas) -> list[Any]:
    bad_code = response("x-bad", subject="Patient/p1")
    bad_code["item"][1]["answer"][0]["valueCoding"]["code"] = "LA0000-0"
    unknown = response("x-unknown", subject="Patient/p2")
    unknown["item"][0]["colour"] = "red"
    no_birth = sender_patient("p4", "AH-4")
    del no_birth["birthDate"]
    return [
        sender_patient("p1", "AH-1"),
        response("x-1", subject="Patient/p1"),
        response("x-2", values=(3, 3, 3, 3, 3, 3, 3, 3, 2), subject="Patient/p1"),  # item 9: the safety flag
        bad_code,  # line 4
        "{not json",  # line 5
        sender_patient("p2", "AH-2"),
        unknown,  # line 7
        response("x-3", subject="Patient/p2"),
        response("x-3", subject="Patient/p2"),  # the same identifier again: stored once
        response("x-4", subject=f"Patient/{personas.patient.pk}"),  # a patient already in Tandem
        no_birth,  # line 11
        response("x-5", subject="Patient/p4"),  # line 12: its patient failed
        sender_patient("p3", "AH-3"),
        *[response(f"x-{n}", values=(n % 4,) * 9, subject="Patient/p3") for n in range(6, 14)],
    ]


RESPONSE_FIELDS = [
    "fhir_identifier",
    "total",
    "band",
    "item9",
    "safety_triggered",
    "answers",
    "flags",
    "raw_resource",
    "entered_by_id",
    "idempotency_key",
    "authored_at",
]


# Keys whose values differ between two runs in one test: when an alert is due (a moment), and
# the ids of rows the run created (PostgreSQL does not give ids back when a transaction rolls back).
APART = {"ack_due_at", "alert", "response"}


def moment_apart(extra: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in extra.items() if k not in APART}


def without_ids(row: InstrumentResponse, name: str) -> Any:
    """The field, with the stored patient's id in the resource read as its MRN."""
    value = getattr(row, name)
    if name == "raw_resource" and isinstance(value, dict) and "subject" in value:
        return {**value, "subject": row.patient.mrn}
    return value


def stored(report: Report) -> dict[str, Any]:
    responses = InstrumentResponse.objects.order_by("pk")
    return {
        "report": (report.created, report.existing, [str(p) for p in report.problems]),
        "responses": [[r.patient.mrn, *(without_ids(r, f) for f in RESPONSE_FIELDS)] for r in responses],
        "flags": sorted(SafetyTrigger.objects.values_list("flag__patient__mrn", "response__fhir_identifier")),
        "audit": [
            (
                e.action,
                e.entity_type,
                e.patient.mrn if e.patient else None,
                e.actor_role,
                e.actor_id,
                moment_apart(e.extra),
            )
            for e in AuditEvent.objects.order_by("seq").select_related("patient")
        ],
    }


@pytest.fixture
def prepared_here(monkeypatch):
    """How many responses this process checked and scored itself (the second one's are not
    counted: it is another process)."""
    counted = [0]
    pid = os.getpid()
    prepare = BulkStore.prepare_responses

    def counting(self, items, **kwargs):
        if os.getpid() == pid:
            counted[0] += len(items)
        return prepare(self, items, **kwargs)

    monkeypatch.setattr(BulkStore, "prepare_responses", counting)
    monkeypatch.setattr(bulk_import, "BATCH", 5)  # several chunks
    return counted


def both_ways(personas, tmp_path, prepared_here) -> tuple[dict[str, Any], dict[str, Any], int, int]:
    path = Path(str(write_ndjson(tmp_path, lines(personas))))
    with transaction.atomic():
        report = import_ndjson(path, importer_for(personas.therapist), ahead=True)
        ahead, counted_ahead = stored(report), prepared_here[0]
        transaction.set_rollback(True)
    prepared_here[0] = 0
    report = import_ndjson(path, importer_for(personas.therapist), ahead=False)
    return ahead, stored(report), counted_ahead, prepared_here[0]


@pytest.mark.django_db
def test_the_second_process_changes_nothing_but_where_the_work_is_done(personas, tmp_path, prepared_here):
    ahead, alone, counted_ahead, counted_alone = both_ways(personas, tmp_path, prepared_here)

    assert ahead == alone
    created, existing, problems = alone["report"]
    assert (created, existing) == (15, 1)  # 3 patients, 12 responses; x-3 again
    assert [p.split(":")[0] for p in problems] == ["line 4", "line 5", "line 7", "line 11", "line 12"]
    assert "QuestionnaireResponse.item[1].answer[0].valueCoding.code" in problems[0]
    assert "colour" in problems[2] and "Patient/p4" in problems[4]
    assert alone["flags"] == [("AH-1", "urn:ehr:responses|x-2")] + [
        ("AH-3", f"urn:ehr:responses|x-{n}") for n in (10, 11, 13, 6, 7, 9)
    ]
    # Alone, every response is checked here; with the second process, only those it could not
    # take on: the bad ones (found bad there, checked again here to say why) and the one for a
    # patient that was already in Tandem (not learnt about before the fork).
    assert counted_alone == 15
    assert counted_ahead == 3


@pytest.mark.django_db
def test_when_the_second_process_fails_the_import_goes_on_without_it(
    personas, tmp_path, prepared_here, monkeypatch
):
    prepare_ahead = _NdjsonImport.prepare_ahead

    def failing_after_one_chunk(self, path):
        work = prepare_ahead(self, path)

        def first_then_fail(outbox: Outbox) -> None:
            sent: list[Any] = []

            def send(answer: Any) -> None:
                if sent:
                    raise RuntimeError("the second process fails")
                sent.append(answer)
                outbox.send(answer)

            work(Outbox(send, outbox.waiting))

        return first_then_fail

    monkeypatch.setattr(_NdjsonImport, "prepare_ahead", failing_after_one_chunk)
    ahead, alone, counted_ahead, counted_alone = both_ways(personas, tmp_path, prepared_here)

    assert ahead == alone
    assert 3 < counted_ahead < counted_alone
    assert not multiprocessing.active_children()


@pytest.mark.django_db
def test_no_process_is_left_and_the_collector_is_back_when_the_import_fails(personas, tmp_path, monkeypatch):
    path = Path(str(write_ndjson(tmp_path, lines(personas))))
    chunk = _NdjsonImport.chunk

    def failing_second_pass(self, lines, *, patients_pass, handed=None):
        if not patients_pass:
            raise KeyboardInterrupt
        return chunk(self, lines, patients_pass=patients_pass, handed=handed)

    monkeypatch.setattr(_NdjsonImport, "chunk", failing_second_pass)
    with pytest.raises(KeyboardInterrupt):
        import_ndjson(path, importer_for(personas.therapist))

    assert not multiprocessing.active_children()
    assert gc.isenabled()


@pytest.mark.django_db
def test_the_collector_is_left_as_it_was(personas, tmp_path):
    path = Path(str(write_ndjson(tmp_path, lines(personas)[:3])))
    import_ndjson(path, importer_for(personas.therapist))
    assert gc.isenabled()
    gc.disable()
    try:
        import_ndjson(path, importer_for(personas.therapist))
        assert not gc.isenabled()
    finally:
        gc.enable()


def new_response(personas, key: str) -> InstrumentResponse:
    return InstrumentResponse(
        patient=personas.patient,
        instrument="phq-9",
        version="1",
        answers={"/44250-9": {"code": "LA6569-3", "value": 1}},
        item_values={"/44250-9": 1},
        scored=False,
        missing=["/44255-8"],
        flags={"note": "naïve — “quoted”"},
        administered_by=AdministeredBy.EXTERNAL,
        source=Source.FHIR,
        entered_by=personas.therapist,
        authored_at=timezone.now(),
        idempotency_key=key,
        raw_resource={"resourceType": "QuestionnaireResponse", "id": "q-1"},
    )


@pytest.mark.django_db
def test_the_insert_built_once_stores_what_bulk_create_stores(personas):
    fast = FastInsert(InstrumentResponse)
    ours = [new_response(personas, f"fast-{n}") for n in range(3)]
    theirs = [new_response(personas, f"bulk-{n}") for n in range(3)]
    for a, b in zip(ours, theirs, strict=True):
        b.authored_at = b.received_at = a.authored_at = a.received_at

    assert fast.insert(ours, {id(ours[1]): fast.values(ours[1])}) is ours
    InstrumentResponse.objects.bulk_create(theirs)

    assert all(r.pk and not r._state.adding for r in ours)
    columns = [f.attname for f in fast.fields if f.attname != "idempotency_key"]
    rows = {
        r["idempotency_key"]: tuple(r[c] for c in columns)
        for r in InstrumentResponse.objects.values(*columns, "idempotency_key")
    }
    assert [rows[f"fast-{n}"] for n in range(3)] == [rows[f"bulk-{n}"] for n in range(3)]
    assert [InstrumentResponse.objects.get(pk=r.pk).idempotency_key for r in ours] == [
        "fast-0",
        "fast-1",
        "fast-2",
    ]
