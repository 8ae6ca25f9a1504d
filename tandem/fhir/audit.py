"""Audit rows for FHIR reads and searches: one READ per patient touched, like the UI writes for
each patient page opened, with how the record was reached.

A search page may touch up to `_count` patients, so the rows of one request are appended to the
hash chain together: the chain head is locked once, the rows are hashed in order and inserted in
one statement. The rows are exactly those record_audit() would write one by one.
"""

from __future__ import annotations

from django.http import HttpRequest

from tandem.audit.actions import record_audit, record_audit_many
from tandem.audit.models import Action
from tandem.fhir.auth import Caller
from tandem.fhir.policy import bases


def record_reads(
    request: HttpRequest, caller: Caller, entity: str, patient_ids: set[int], *, need: str, interaction: str
) -> None:
    if not patient_ids:
        return
    found = bases(caller, patient_ids)
    record_audit_many(
        [
            {
                "actor": caller.user,
                "action": Action.READ,
                "entity_type": entity,
                "entity_id": pid,
                "patient": pid,
                "role": found[pid].role,
                "organisation": found[pid].organisation_id,
                "extra": {"basis": found[pid].basis, "need": need, "via": "fhir", "interaction": interaction},
            }
            for pid in sorted(patient_ids)
        ],
        request=request,
    )


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
