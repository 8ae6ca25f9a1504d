"""Who sees and documents the safety workflow.

The patient's care team (and a clinician who broke the glass) see the flag, its triggers and the
assessments — like alerts, not clinicians with a consent. The therapist, prescriber and care
manager on the team document a risk assessment; the consultant reads and advises. The patient
sees their own crisis resources and safety plan in the portal.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from tandem.accounts.models import Role
from tandem.audit.access import record_denied
from tandem.patients.access import PatientGrant, access_patient, audit_patient_read
from tandem.safety.models import FlagStatus, SafetyFlag

ENTITY = "SafetyFlag"
ASSESSMENT_ENTITY = "RiskAssessment"
ASSESSING_ROLES = frozenset({Role.THERAPIST, Role.PRESCRIBER, Role.CARE_MANAGER})


def may_assess(grant: PatientGrant) -> bool:
    return grant.basis == "care_team" and grant.role in ASSESSING_ROLES


def access_safety_patient(request: HttpRequest, patient_id: Any, *, assess: bool = False) -> PatientGrant:
    entity = ASSESSMENT_ENTITY if assess else ENTITY
    grant = access_patient(request, patient_id, entity=entity, audit_read=False)
    if grant.basis not in ("care_team", "break_glass") or (assess and not may_assess(grant)):
        record_denied(request, entity, patient_id, patient=grant.patient)
        raise Http404
    audit_patient_read(request, grant, entity=entity, need="assess" if assess else "safety")
    return grant


def open_flag(patient_id: int) -> SafetyFlag | None:
    return SafetyFlag.objects.filter(patient_id=patient_id, status=FlagStatus.OPEN).first()


def flagged_patient_ids(patient_ids: QuerySet[Any] | list[int]) -> set[int]:
    """Which of these patients have an open safety flag, in one query (for lists)."""
    return set(
        SafetyFlag.objects.filter(patient_id__in=patient_ids, status=FlagStatus.OPEN).values_list(
            "patient_id", flat=True
        )
    )
