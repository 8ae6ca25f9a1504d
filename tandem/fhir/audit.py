"""Audit rows for FHIR reads and searches: one READ per patient touched, like the UI writes for
each patient page opened, with how the record was reached.

A search page may touch up to `_count` patients, so the rows of one request are appended to the
hash chain together: the chain head is locked once, the rows are hashed in order and inserted in
one statement. The rows are exactly those record_audit() would write one by one.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from tandem.audit.actions import _lock_head, _move_head, client_ip, record_audit
from tandem.audit.chain import row_hash
from tandem.audit.models import Action, AuditEvent, Outcome
from tandem.fhir.auth import Caller
from tandem.fhir.policy import bases


def record_reads(
    request: HttpRequest, caller: Caller, entity: str, patient_ids: set[int], *, need: str, interaction: str
) -> None:
    if not patient_ids:
        return
    found = bases(caller, patient_ids)
    user = caller.user
    now = timezone.now()
    ua = request.META.get("HTTP_USER_AGENT", "")[:300]
    contents: list[dict[str, Any]] = []
    for pid in sorted(patient_ids):
        basis = found[pid]
        contents.append(
            {
                "occurred_at": now,
                "actor_id": user.pk,
                "actor_label": user.email[:254],
                "actor_role": basis.role,
                "actor_organisation_id": basis.organisation_id,
                "action": Action.READ.value,
                "entity_type": entity,
                "entity_id": str(pid),
                "patient_id": pid,
                "ip": client_ip(request),
                "user_agent": ua,
                "outcome": Outcome.SUCCESS.value,
                "extra": {"basis": basis.basis, "need": need, "via": "fhir", "interaction": interaction},
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
        AuditEvent.objects.bulk_create(rows)
        _move_head(seq, last)


def record_log_read(
    request: HttpRequest, caller: Caller, *, patient_id: int | None, organisation_id: int | None
) -> None:
    """Reading the audit log itself is audited, as the portal's access log and the org admin's
    audit search do."""
    record_audit(
        actor=caller.user,
        action=Action.READ,
        entity_type="AuditLog",
        patient=patient_id,
        role="patient" if patient_id is not None else "org_admin",
        organisation=organisation_id,
        request=request,
        extra={"via": "fhir"},
    )
