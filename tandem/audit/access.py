"""Who may read the audit log, and the one helper that records a denial."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest

from tandem.audit.actions import record_audit
from tandem.audit.models import Action, AuditEvent, Outcome


def record_denied(request: HttpRequest, entity_type: str, entity_id: Any, *, patient: Any = None) -> None:
    from tandem.accounts.access import primary_role

    user = request.user if request.user.is_authenticated else None
    record_audit(
        actor=user,
        action=Action.DENIED,
        entity_type=entity_type,
        entity_id=entity_id,
        patient=patient,
        outcome=Outcome.DENIED,
        role=primary_role(user) if user else "",
        request=request,
        extra={"path": request.path[:300], "method": request.method},
    )


def audit_events_for_organisation(organisation_id: int) -> QuerySet[AuditEvent]:
    """What an org admin may search: events by their organisation's people or about its patients."""
    return AuditEvent.objects.filter(
        Q(actor_organisation_id=organisation_id) | Q(patient__organisation_id=organisation_id)
    )


def audit_events_for_patient(patient_id: int) -> QuerySet[AuditEvent]:
    """What a patient sees of who opened their record: other people's successful accesses
    (not their own, and not Tandem's own work such as reminders)."""
    return AuditEvent.objects.filter(
        patient_id=patient_id, outcome=Outcome.SUCCESS, actor__isnull=False
    ).exclude(actor_role="patient")
