"""Who may see and act on hand-offs and messages.

Hand-offs and message threads belong to a patient's care team: members read and write; a
clinician who broke the glass reads. Consented outside clinicians and administrators see
neither (404, audited, like a missing id). Only the recipient of a hand-off acknowledges and
completes it. In the portal a patient sees only the threads shared with them ("care team and
the patient") of their own record.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from tandem.audit.access import record_denied
from tandem.audit.actions import record_audit
from tandem.audit.models import Action
from tandem.handoffs.models import Audience, Handoff, Thread
from tandem.patients.access import PatientGrant, access_own_patient, access_patient, audit_patient_read
from tandem.patients.models import CareTeamMember, Category, active_on

READERS = ("care_team", "break_glass")


def _team_grant(
    request: HttpRequest, patient_id: Any, *, entity: str, write: bool, need: str
) -> PatientGrant:
    grant = access_patient(request, patient_id, need=need, entity=entity, audit_read=False)
    allowed = grant.basis == "care_team" if write else grant.basis in READERS
    if not allowed:
        record_denied(request, entity, patient_id, patient=grant.patient)
        raise Http404
    audit_patient_read(request, grant, entity=entity, need="write" if write else need)
    return grant


def access_handoffs_patient(request: HttpRequest, patient_id: Any, *, write: bool = False) -> PatientGrant:
    return _team_grant(request, patient_id, entity="Handoff", write=write, need="record")


def access_messages_patient(request: HttpRequest, patient_id: Any, *, write: bool = False) -> PatientGrant:
    return _team_grant(request, patient_id, entity="MessageThread", write=write, need=Category.MESSAGES)


def _pk(value: Any) -> int | None:
    text = str(value)
    return int(text) if text.isdigit() and len(text) < 19 else None


def access_handoff(grant: PatientGrant, request: HttpRequest, handoff_id: Any) -> Handoff:
    pk = _pk(handoff_id)
    handoff = None
    if pk is not None:
        handoff = (
            Handoff.objects.filter(pk=pk, patient=grant.patient)
            .select_related("sender", "recipient", "session", "plan")
            .first()
        )
    if handoff is None:
        record_denied(request, "Handoff", handoff_id, patient=grant.patient)
        raise Http404
    return handoff


def access_task(grant: PatientGrant, request: HttpRequest, handoff_id: Any) -> Handoff:
    """A hand-off of the grant's patient addressed to the signed-in user: only they act on it."""
    handoff = access_handoff(grant, request, handoff_id)
    if handoff.recipient_id != request.user.pk or grant.basis != "care_team":
        record_denied(request, "Handoff", handoff_id, patient=grant.patient)
        raise Http404
    return handoff


def may_act_on(grant: PatientGrant, handoff: Handoff, user: Any) -> bool:
    return grant.basis == "care_team" and handoff.recipient_id == user.pk


def access_thread(grant: PatientGrant, request: HttpRequest, thread_id: Any) -> Thread:
    pk = _pk(thread_id)
    thread = Thread.objects.filter(pk=pk, patient=grant.patient).first() if pk is not None else None
    if thread is None:
        record_denied(request, "MessageThread", thread_id, patient=grant.patient)
        raise Http404
    return thread


def access_own_thread(
    request: HttpRequest, thread_id: Any, *, audit_read: bool = True
) -> tuple[PatientGrant, Thread]:
    """A thread shared with the signed-in patient, of their own record; 404 (audited) otherwise."""
    grant = access_own_patient(request, entity="MessageThread", audit_read=audit_read)
    pk = _pk(thread_id)
    thread = None
    if pk is not None:
        thread = Thread.objects.filter(pk=pk, patient=grant.patient, audience=Audience.TEAM_PATIENT).first()
    if thread is None:
        record_denied(request, "MessageThread", thread_id, patient=grant.patient)
        raise Http404
    return grant, thread


def team_patient_ids(user: Any) -> QuerySet[CareTeamMember, Any]:
    """The patients on whose active care team the user is today (a subquery of ids)."""
    return CareTeamMember.objects.filter(
        active_on(timezone.localdate()), user=user, patient__is_active=True
    ).values("patient_id")


def tasks_for(user: Any) -> QuerySet[Handoff]:
    """Hand-offs addressed to the user, for patients whose team they are still on."""
    return Handoff.objects.filter(recipient=user, patient_id__in=team_patient_ids(user)).select_related(
        "patient", "sender"
    )


def sent_by(user: Any) -> QuerySet[Handoff]:
    """Hand-offs the user sent, for patients whose team they are still on."""
    return Handoff.objects.filter(sender=user, patient_id__in=team_patient_ids(user)).select_related(
        "patient", "recipient"
    )


def audit_task_list(request: HttpRequest, patient_ids: set[int]) -> None:
    """One read event for the task list, naming the patients it showed."""
    record_audit(
        actor=request.user,  # type: ignore[arg-type]
        action=Action.READ,
        entity_type="HandoffTasks",
        entity_id="mine",
        request=request,
        extra={"patients": sorted(patient_ids)},
    )
