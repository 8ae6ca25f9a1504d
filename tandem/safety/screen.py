"""What the patient sees when the safety rule fires, before anything else: crisis resources for
their organisation and country, and their own safety plan. Used by the questionnaire
confirmation page, the portal "Help now" page and the portal home banner."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from tandem.audit.actions import record_audit
from tandem.audit.models import Action
from tandem.patients.models import Patient
from tandem.plans import safety_docs
from tandem.plans.models import DocumentKind
from tandem.safety.access import open_flag
from tandem.safety.crisis import resources_for


def crisis_context(request: HttpRequest, patient: Patient) -> dict[str, Any]:
    """Crisis resources and the patient's safety plan (the plan's read is audited)."""
    resources = resources_for(patient)
    document = safety_docs.documents(patient)[DocumentKind.SAFETY]
    current = document.current if document is not None else None
    record_audit(
        actor=request.user,  # type: ignore[arg-type]
        action=Action.READ,
        entity_type=safety_docs.ENTITY,
        entity_id=patient.pk,
        patient=patient,
        role="patient",
        request=request,
        organisation=patient.organisation_id,
        extra={"shown": "crisis screen"},
    )
    return {
        "crisis": resources,
        "safety_plan": current,
        "safety_sections": safety_docs.sections(
            DocumentKind.SAFETY, current.content if current else None, crisis=resources.first.number
        ),
        "safety_flag": open_flag(patient.pk),
    }
