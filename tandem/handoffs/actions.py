"""Hand-offs: sending one (it becomes the recipient's task), acknowledging it and completing it
with a note. One transaction each, audited; the other side is told in the app.

The case review sends its recommendations through `do_send_handoff(kind="case_review", …)`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.actions import do_notify
from tandem.accounts.models import Role, User
from tandem.audit.actions import audit_patient_event
from tandem.audit.models import Action
from tandem.handoffs.kinds import TEXT_MAX, HandoffError, clean_details, spec_for, title_of
from tandem.handoffs.models import Handoff, HandoffKind, HandoffStatus
from tandem.patients.models import CareTeamMember, Patient, active_on
from tandem.plans.models import PlanStatus, TreatmentPlan
from tandem.therapy.models import Session

MAX_DUE = timedelta(days=365)
KEY_MAX = 64


def team_roles(patient: Patient, user: User) -> list[str]:
    """The roles the user holds on the patient's active care team today (empty: not on it)."""
    if not user.is_active:
        return []
    rows = CareTeamMember.objects.filter(active_on(timezone.localdate()), patient=patient, user=user)
    return sorted(set(rows.values_list("role", flat=True)))


def team_members(patient: Patient) -> list[CareTeamMember]:
    """The active care team today, one row per person and role, active users only."""
    rows = (
        CareTeamMember.objects.filter(active_on(timezone.localdate()), patient=patient, user__is_active=True)
        .select_related("user")
        .order_by("role", "user__full_name")
    )
    return list(rows)


def _recipient(
    patient: Patient, recipient: User | int | str | None, spec_roles: frozenset[str]
) -> tuple[User, str]:
    user: User | None
    if isinstance(recipient, User):
        user = recipient
    else:
        text = str(recipient or "").strip()
        if not text:
            raise HandoffError("recipient", "choose who should receive it")
        user = User.objects.filter(pk=int(text)).first() if text.isdigit() and len(text) < 19 else None
        if user is None:
            raise HandoffError("recipient", "choose someone on the patient's care team")
    roles = team_roles(patient, user)
    if not roles:
        raise HandoffError(
            "recipient",
            f"{user.display_name} is not on {patient.name}'s active care team, so a hand-off about "
            "this patient cannot go to them. Choose a current team member, or add them to the team first.",
        )
    allowed = [r for r in roles if not spec_roles or r in spec_roles]
    if not allowed:
        wanted = " or ".join(sorted(Role(r).label.lower() for r in spec_roles))
        raise HandoffError(
            "recipient",
            f"this kind of hand-off goes to the patient's {wanted}; {user.display_name} is not one",
        )
    return user, allowed[0]


def _session(patient: Patient, session: Session | int | str | None) -> Session | None:
    if session in (None, ""):
        return None
    if isinstance(session, Session):
        found: Session | None = session if session.patient_id == patient.pk else None
    else:
        text = str(session)
        found = (
            Session.objects.filter(pk=int(text), patient=patient).first()
            if text.isdigit() and len(text) < 19
            else None
        )
    if found is None:
        raise HandoffError("session", "choose one of this patient's sessions")
    return found


def _plan(patient: Patient, plan: TreatmentPlan | int | str | None, required: bool) -> TreatmentPlan | None:
    if plan in (None, ""):
        if required:
            raise HandoffError("plan", "choose the treatment plan the proposal is about")
        return None
    if isinstance(plan, TreatmentPlan):
        found: TreatmentPlan | None = plan if plan.patient_id == patient.pk else None
    else:
        text = str(plan)
        found = (
            TreatmentPlan.objects.filter(pk=int(text), patient=patient).first()
            if text.isdigit() and len(text) < 19
            else None
        )
    if found is None or found.status not in (PlanStatus.DRAFT, PlanStatus.ACTIVE):
        raise HandoffError("plan", "choose one of this patient's current (draft or active) plans")
    return found


def handoff_url(handoff: Handoff) -> str:
    return reverse("handoffs:detail", kwargs={"patient_id": handoff.patient_id, "handoff_id": handoff.pk})


def do_send_handoff(
    patient: Patient,
    *,
    kind: str,
    sender: User,
    recipient: User | int | str | None,
    due_by: datetime | None,
    details: dict[str, Any],
    session: Session | int | str | None = None,
    plan: TreatmentPlan | int | str | None = None,
    source: str = "",
    idempotency_key: str = "",
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> tuple[Handoff, bool]:
    """Send a hand-off from one member of the patient's active care team to another; (hand-off,
    created). The same idempotency key from the same sender returns the first hand-off.

    Refused (HandoffError naming the field) when the sender or the recipient is not on the
    patient's active care team, the recipient is the sender or lacks the role the kind goes to,
    the due-by is not in the next year, or a required field of the kind is missing.
    """
    now = now or timezone.now()
    key = (idempotency_key or "").strip()
    if len(key) > KEY_MAX:
        raise HandoffError("key", "this form could not be sent; reload the page and send it again")
    if key:
        existing = Handoff.objects.filter(sender=sender, idempotency_key=key).first()
        if existing is not None:
            return existing, False
    spec = spec_for(kind)
    sender_roles = team_roles(patient, sender)
    if not sender_roles:
        raise HandoffError("sender", f"only members of {patient.name}'s active care team send hand-offs")
    to, to_role = _recipient(patient, recipient, spec.recipient_roles)
    if to.pk == sender.pk:
        raise HandoffError("recipient", "choose someone other than yourself")
    if due_by is None:
        raise HandoffError("due_by", "give a date and time it is due by")
    if due_by <= now:
        raise HandoffError("due_by", "the due-by must be in the future")
    if due_by > now + MAX_DUE:
        raise HandoffError("due_by", "the due-by must be within a year")
    cleaned = clean_details(spec, details)
    linked_session = _session(patient, session) if kind == HandoffKind.SESSION_OBSERVATION else None
    linked_plan = _plan(patient, plan, required=True) if kind == HandoffKind.PLAN_PROPOSAL else None
    try:
        with transaction.atomic():
            handoff = Handoff.objects.create(
                patient=patient,
                kind=kind,
                sender=sender,
                sender_role=sender_roles[0],
                recipient=to,
                recipient_role=to_role,
                title=title_of(spec, cleaned),
                details=cleaned,
                session=linked_session,
                plan=linked_plan,
                urgent=cleaned.get("urgency") == "urgent",
                due_by=due_by,
                created_at=now,
                source=source[:100],
                idempotency_key=key,
            )
            audit_patient_event(
                sender,
                Action.CREATE,
                "Handoff",
                handoff.pk,
                patient,
                request=request,
                role=sender_roles[0],
                kind=kind,
                recipient=to.pk,
                due_by=due_by.isoformat(),
                source=source[:100],
            )
            do_notify(
                [to],
                f"{'Urgent ' if handoff.urgent else ''}{spec.label} from {sender.display_name} about {patient.name}",
                link=settings.SITE_URL + handoff_url(handoff),
            )
    except IntegrityError:
        existing = Handoff.objects.filter(sender=sender, idempotency_key=key).first() if key else None
        if existing is None:
            raise
        return existing, False
    return handoff, True


@transaction.atomic
def do_acknowledge_handoff(
    handoff: Handoff, *, acting_user: User, request: HttpRequest | None = None, now: datetime | None = None
) -> tuple[Handoff, bool]:
    """The recipient has seen the task; acknowledging twice (or after done) changes nothing."""
    handoff = Handoff.objects.select_for_update(of=("self",)).select_related("patient").get(pk=handoff.pk)
    if handoff.recipient_id != acting_user.pk:
        raise HandoffError("recipient", "only the recipient acknowledges a hand-off")
    if handoff.status != HandoffStatus.OPEN:
        return handoff, False
    handoff.status = HandoffStatus.ACKNOWLEDGED
    handoff.acknowledged_at = now or timezone.now()
    handoff.save(update_fields=["status", "acknowledged_at"])
    audit_patient_event(
        acting_user,
        Action.UPDATE,
        "Handoff",
        handoff.pk,
        handoff.patient,
        request=request,
        role=handoff.recipient_role,
        change="acknowledged",
    )
    return handoff, True


@transaction.atomic
def do_complete_handoff(
    handoff: Handoff,
    *,
    note: str,
    acting_user: User,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> tuple[Handoff, bool]:
    """The recipient marks the task done with a note (what they did); the sender is told.
    Completing a hand-off that is already done changes nothing."""
    handoff = (
        Handoff.objects.select_for_update(of=("self",)).select_related("patient", "sender").get(pk=handoff.pk)
    )
    if handoff.recipient_id != acting_user.pk:
        raise HandoffError("recipient", "only the recipient completes a hand-off")
    if handoff.status == HandoffStatus.DONE:
        return handoff, False
    note = (note or "").strip()
    if not note:
        raise HandoffError("note", "say what you did, for the sender")
    if len(note) > TEXT_MAX:
        raise HandoffError("note", f"at most {TEXT_MAX} characters (this is {len(note)})")
    now = now or timezone.now()
    if handoff.acknowledged_at is None:
        handoff.acknowledged_at = now
    handoff.status = HandoffStatus.DONE
    handoff.done_at = now
    handoff.done_note = note
    handoff.save(update_fields=["status", "acknowledged_at", "done_at", "done_note"])
    audit_patient_event(
        acting_user,
        Action.UPDATE,
        "Handoff",
        handoff.pk,
        handoff.patient,
        request=request,
        role=handoff.recipient_role,
        change="done",
    )
    do_notify(
        [handoff.sender],
        f"{acting_user.display_name} completed your {handoff.get_kind_display().lower()} about {handoff.patient.name}",
        link=settings.SITE_URL + handoff_url(handoff),
    )
    return handoff, True
