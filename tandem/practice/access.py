"""Who may see and change skills practice.

Readers: the patient's care team (and a clinician who broke the glass). A consent for therapy
summaries shows that practice was done (the timeline's titles) but not what the patient wrote.
Writers: the therapist and the care manager on the team assign, comment and end. The patient
fills in their own assignments in the portal; another patient's id is 404 like a missing one.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest

from tandem.accounts.models import Role
from tandem.audit.access import record_denied
from tandem.audit.actions import record_audit
from tandem.audit.models import Action
from tandem.patients.access import PatientGrant, access_patient, audit_patient_read
from tandem.patients.models import Category
from tandem.practice.models import Assignment, Entry, EntryStatus

READ_BASES = ("care_team", "break_glass")
WRITER_ROLES = (Role.THERAPIST, Role.CARE_MANAGER)


def may_assign(grant: PatientGrant) -> bool:
    return grant.basis == "care_team" and grant.role in WRITER_ROLES


def _id(value: Any) -> int | None:
    text = str(value)
    return int(text) if text.isdigit() and len(text) < 19 else None


def access_practice_patient(
    request: HttpRequest, patient_id: Any, *, write: bool = False, entity: str = "PracticeAssignment"
) -> PatientGrant:
    grant = access_patient(
        request, patient_id, need=Category.THERAPY_SUMMARIES, entity=entity, audit_read=False
    )
    if grant.basis not in READ_BASES or (write and not may_assign(grant)):
        record_denied(request, entity, patient_id, patient=grant.patient)
        raise Http404
    audit_patient_read(request, grant, entity=entity, need="practice_write" if write else "practice")
    return grant


def access_assignment(grant: PatientGrant, request: HttpRequest, assignment_id: Any) -> Assignment:
    pk = _id(assignment_id)
    assignment = Assignment.objects.filter(pk=pk, patient=grant.patient).first() if pk else None
    if assignment is None:
        record_denied(request, "PracticeAssignment", assignment_id, patient=grant.patient)
        raise Http404
    return assignment


def access_entry(grant: PatientGrant, request: HttpRequest, entry_id: Any) -> Entry:
    """A submitted entry of the grant's patient (drafts are the patient's until sent)."""
    pk = _id(entry_id)
    entry = None
    if pk:
        entry = (
            Entry.objects.filter(pk=pk, patient=grant.patient, status=EntryStatus.SUBMITTED)
            .select_related("assignment", "commented_by")
            .first()
        )
    if entry is None:
        record_denied(request, "PracticeEntry", entry_id, patient=grant.patient)
        raise Http404
    return entry


def access_own_assignment(request: HttpRequest, assignment_id: Any, *, audit_read: bool = True) -> Assignment:
    """One of the signed-in patient's own assignments with the patient, in one query; 404
    (audited) for anybody else's or a missing id."""
    pk = _id(assignment_id)
    assignment = None
    if pk and request.user.is_authenticated:
        assignment = (
            Assignment.objects.select_related("patient__organisation")
            .filter(pk=pk, patient__portal_user_id=request.user.pk, patient__is_active=True)
            .first()
        )
    if assignment is None:
        record_denied(request, "PracticeAssignment", assignment_id)
        raise Http404
    if audit_read:
        _audit_own_read(request, "PracticeAssignment", assignment.pk, assignment)
    return assignment


def access_own_entry(request: HttpRequest, entry_id: Any) -> Entry:
    pk = _id(entry_id)
    entry = None
    if pk and request.user.is_authenticated:
        entry = (
            Entry.objects.select_related("assignment", "patient__organisation", "commented_by")
            .filter(pk=pk, patient__portal_user_id=request.user.pk, patient__is_active=True)
            .first()
        )
    if entry is None:
        record_denied(request, "PracticeEntry", entry_id)
        raise Http404
    _audit_own_read(request, "PracticeEntry", entry.pk, entry)
    return entry


def _audit_own_read(request: HttpRequest, entity: str, entity_id: int, obj: Assignment | Entry) -> None:
    record_audit(
        actor=request.user,  # type: ignore[arg-type]
        action=Action.READ,
        entity_type=entity,
        entity_id=entity_id,
        patient=obj.patient,
        role="patient",
        request=request,
        organisation=obj.patient.organisation_id,
    )
