from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from tandem.audit.actions import record_audit
from tandem.audit.models import AuditEvent
from tandem.audit.triggers import set_triggers
from tandem.audit.verify import verify_chain


def write(n: int) -> list[AuditEvent]:
    return [
        record_audit(
            actor=None, actor_label="test", action="read", entity_type="Patient", entity_id=i, extra={"i": i}
        )
        for i in range(n)
    ]


def raw(sql: str, params: list | None = None) -> None:
    """Tamper with the table as someone with database access would: the append-only triggers
    go first (they are part of what such a person could remove)."""
    set_triggers(connection, on=False)
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


@pytest.mark.django_db
def test_an_untouched_chain_verifies():
    write(5)
    count, problems = verify_chain()
    assert count == 5
    assert problems == []
    call_command("audit", "verify")


@pytest.mark.django_db
def test_it_names_an_altered_row():
    events = write(5)
    raw("UPDATE audit_auditevent SET actor_label = %s WHERE seq = %s", ["mallory", events[2].seq])
    _, problems = verify_chain()
    assert problems[0].kind == "altered"
    assert problems[0].seq == events[2].seq


@pytest.mark.django_db
def test_it_names_an_altered_json_field():
    events = write(3)
    raw("UPDATE audit_auditevent SET extra = %s WHERE seq = %s", ['{"i": 99}', events[1].seq])
    _, problems = verify_chain()
    assert (problems[0].kind, problems[0].seq) == ("altered", events[1].seq)


@pytest.mark.django_db
def test_it_names_the_row_after_a_deleted_one():
    events = write(5)
    raw("DELETE FROM audit_auditevent WHERE seq = %s", [events[1].seq])
    _, problems = verify_chain()
    assert problems[0].kind == "missing"
    assert problems[0].seq == events[2].seq


@pytest.mark.django_db
def test_it_notices_a_deleted_last_row():
    events = write(3)
    raw("DELETE FROM audit_auditevent WHERE seq = %s", [events[-1].seq])
    _, problems = verify_chain()
    assert problems[0].kind == "missing"
    assert "3 rows were written" in problems[0].detail


@pytest.mark.django_db
def test_it_names_an_inserted_row_even_with_a_correct_hash():
    """A forger who copies the hashing code can make a row whose own hash is right; its link
    to the chain and the chain head still give it away."""
    from tandem.audit.chain import row_hash

    events = write(3)
    forged = {
        "seq": 4,
        "occurred_at": events[-1].occurred_at,
        "actor_id": None,
        "actor_label": "forger",
        "actor_role": "",
        "actor_organisation_id": None,
        "action": "read",
        "entity_type": "Patient",
        "entity_id": "1",
        "patient_id": None,
        "ip": None,
        "user_agent": "",
        "outcome": "success",
        "extra": {},
    }
    prev = "f" * 64
    digest = row_hash(prev, forged)
    raw(
        "INSERT INTO audit_auditevent (seq, occurred_at, actor_label, actor_role, action, entity_type, entity_id,"
        " user_agent, outcome, extra, prev_hash, hash) VALUES (%s, %s, %s, '', 'read', 'Patient', '1', '',"
        " 'success', '{}', %s, %s)",
        [4, forged["occurred_at"], "forger", prev, digest],
    )
    _, problems = verify_chain()
    assert problems[0].kind == "inserted"
    assert problems[0].seq == 4


@pytest.mark.django_db
def test_the_command_exits_non_zero_and_names_the_row():
    events = write(4)
    raw("UPDATE audit_auditevent SET entity_id = '999' WHERE seq = %s", [events[0].seq])
    with pytest.raises(CommandError) as excinfo:
        call_command("audit", "verify")
    assert excinfo.value.returncode == 1
    assert f"seq {events[0].seq}" in str(excinfo.value)


@pytest.mark.django_db
def test_the_application_cannot_update_or_delete_audit_rows():
    event = write(1)[0]
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(actor_label="x")


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_updates_and_deletes():
    event = write(1)[0]
    for sql in (
        "UPDATE audit_auditevent SET actor_label = 'x' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(Exception, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).actor_label == "test"


@pytest.mark.django_db
def test_an_audit_row_rolls_back_with_the_change_it_records():
    write(1)
    with pytest.raises(RuntimeError), transaction.atomic():
        write(1)
        raise RuntimeError("the action failed")
    assert AuditEvent.objects.count() == 1
    assert verify_chain()[1] == []
    write(1)  # the chain continues cleanly after the rollback
    assert verify_chain() == (2, [])
