"""record_audit(): the one way an AuditEvent is written."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from tandem.audit.chain import row_hash
from tandem.audit.models import Action, AuditChainHead, AuditEvent, Outcome
from tandem.lib.fast_insert import FastInsert

if TYPE_CHECKING:
    from tandem.accounts.models import Organisation, User
    from tandem.patients.models import Patient


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record_audit(
    *,
    actor: User | None,
    action: str,
    entity_type: str = "",
    entity_id: object = "",
    patient: Patient | int | None = None,
    outcome: str = Outcome.SUCCESS,
    role: str = "",
    organisation: Organisation | int | None = None,
    request: HttpRequest | None = None,
    actor_label: str = "",
    extra: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction when there is one.

    Callers inside an action's transaction get the audit row committed (or rolled back) together
    with the change it records.
    """
    assert action in Action.values, action
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    patient_id = patient if isinstance(patient, int) or patient is None else patient.pk
    org_id = organisation if isinstance(organisation, int) or organisation is None else organisation.pk
    ua = request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else ""
    # Inside the caller's transaction this joins it (no savepoint: the row commits or rolls back
    # with the change it records); on its own it is one short transaction.
    with transaction.atomic(savepoint=False):
        last_seq, last_hash = _lock_head()
        content: dict[str, Any] = {
            "seq": last_seq + 1,
            "occurred_at": timezone.now(),
            "actor_id": actor.pk if actor is not None else None,
            "actor_label": (actor.email if actor is not None else actor_label)[:254],
            "actor_role": role,
            "actor_organisation_id": org_id,
            "action": action,
            "entity_type": entity_type,
            "entity_id": str(entity_id)[:64] if entity_id not in (None, "") else "",
            "patient_id": patient_id,
            "ip": client_ip(request),
            "user_agent": ua,
            "outcome": outcome,
            "extra": extra or {},
        }
        digest = row_hash(last_hash, content)
        event = AuditEvent.objects.create(prev_hash=last_hash, hash=digest, **content)
        _move_head(content["seq"], digest)
    return event


def record_audit_many(
    events: list[dict[str, Any]],
    *,
    request: HttpRequest | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> list[AuditEvent]:
    """Append several events to the chain at once: the head is locked once, the rows are hashed
    in order and inserted in one statement. Each item takes record_audit()'s keyword arguments
    (actor, action, entity_type, entity_id, patient, outcome, role, organisation, actor_label,
    extra; `request` is shared); the rows are exactly those record_audit() would write one by
    one, in the same order, inside the caller's transaction when there is one."""
    if not events:
        return []
    now = timezone.now()
    # The client's address and agent: the request's, or those recorded when work queued from a
    # request runs later (a Bulk Data export in the worker).
    ip = ip if ip is not None else client_ip(request)
    ua = (
        user_agent[:300]
        if user_agent is not None
        else (request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else "")
    )
    contents: list[dict[str, Any]] = []
    for item in events:
        action = item["action"]
        assert action in Action.values, action
        actor = item.get("actor")
        if actor is not None and not getattr(actor, "is_authenticated", False):
            actor = None
        patient = item.get("patient")
        organisation = item.get("organisation")
        entity_id = item.get("entity_id", "")
        contents.append(
            {
                "occurred_at": now,
                "actor_id": actor.pk if actor is not None else None,
                "actor_label": (actor.email if actor is not None else item.get("actor_label", ""))[:254],
                "actor_role": item.get("role", ""),
                "actor_organisation_id": (
                    organisation if isinstance(organisation, int) or organisation is None else organisation.pk
                ),
                "action": action,
                "entity_type": item.get("entity_type", ""),
                "entity_id": str(entity_id)[:64] if entity_id not in (None, "") else "",
                "patient_id": patient if isinstance(patient, int) or patient is None else patient.pk,
                "ip": ip,
                "user_agent": ua,
                "outcome": item.get("outcome", Outcome.SUCCESS),
                "extra": item.get("extra") or {},
            }
        )
    with transaction.atomic(savepoint=False):
        seq, last = _lock_head()
        rows = []
        for content in contents:
            seq += 1
            content["seq"] = seq
            digest = row_hash(last, content)
            rows.append(AuditEvent(prev_hash=last, hash=digest, **content))
            last = digest
        _INSERT.insert(rows)
        _move_head(seq, last)
    return rows


def patient_event(
    actor: User | None,
    action: str,
    entity: str,
    entity_id: Any,
    patient: Patient,
    *,
    role: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """One item for record_audit_many(): what audit_patient_event() would record."""
    return {
        "actor": actor,
        "action": action,
        "entity_type": entity,
        "entity_id": entity_id,
        "patient": patient,
        "organisation": patient.organisation_id,
        "role": role,
        "actor_label": "system",
        "extra": extra,
    }


# Every audited request appends rows: the statement is built once (what bulk_create sends).
_INSERT = FastInsert(AuditEvent)

# Every audited write passes here, so the chain head is read and moved with two plain SQL
# statements rather than through the ORM (the table and its columns are fixed by the model).
HEAD_TABLE = AuditChainHead._meta.db_table


def _lock_head() -> tuple[int, str]:
    """(last_seq, last_hash) of the chain, the head row locked until the transaction ends
    (FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE transactions already serialise writers)."""
    connection = transaction.get_connection()
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_seq, last_hash FROM {HEAD_TABLE} WHERE id = 1{lock}")  # noqa: S608
        row = cursor.fetchone()
    if row is None:
        return _new_head()
    return int(row[0]), str(row[1])


def _move_head(seq: int, digest: str) -> None:
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(f"UPDATE {HEAD_TABLE} SET last_seq = %s, last_hash = %s WHERE id = 1", [seq, digest])  # noqa: S608


def _new_head() -> tuple[int, str]:
    """The chain head is made by a migration; this recreates it after a database was emptied
    (as test suites do), continuing from the last row if any are left."""
    last = AuditEvent.objects.order_by("-seq").only("seq", "hash").first()
    head, _ = AuditChainHead.objects.get_or_create(
        id=1, defaults={"last_seq": last.seq if last else 0, "last_hash": last.hash if last else "0" * 64}
    )
    head = AuditChainHead.objects.select_for_update().get(id=head.pk)
    return head.last_seq, head.last_hash


def audit_patient_event(
    actor: User | None,
    action: str,
    entity: str,
    entity_id: Any,
    patient: Patient,
    *,
    request: HttpRequest | None,
    role: str = "",
    **extra: Any,
) -> AuditEvent:
    """record_audit() for a change to one patient's record, by the owning organisation."""
    return record_audit(
        actor=actor,
        action=action,
        entity_type=entity,
        entity_id=entity_id,
        patient=patient,
        organisation=patient.organisation_id,
        role=role,
        request=request,
        actor_label="system",
        extra=extra,
    )
