"""Demo hand-offs and messages for the first Demo Clinic patient with a therapist and a
prescriber (Maya): a consult request still open, a medication-change notice acknowledged, a side
effect raised in session and dealt with; a team-only thread and a thread with the patient, each
with read receipts. Made through the actions with fixed keys, so a second run adds nothing."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tandem.accounts.models import Role, User
from tandem.core.seeding import DemoContext
from tandem.handoffs.actions import (
    do_acknowledge_handoff,
    do_complete_handoff,
    do_send_handoff,
)
from tandem.handoffs.messaging import do_mark_read, do_post_message, do_start_thread
from tandem.handoffs.models import Audience, Handoff, HandoffStatus
from tandem.patients.models import CareTeamMember, Patient, active_on
from tandem.therapy.models import Session, SessionKind, SessionStatus


def _team(patient: Patient) -> dict[str, User]:
    rows = CareTeamMember.objects.filter(active_on(timezone.localdate()), patient=patient).select_related(
        "user"
    )
    return {m.role: m.user for m in rows}


def _patient(ctx: DemoContext) -> tuple[Patient, dict[str, User]] | None:
    org = ctx.orgs.get("demo-clinic")
    if org is None:
        return None
    for patient in Patient.objects.filter(organisation=org, is_active=True).order_by("mrn")[:20]:
        team = _team(patient)
        if Role.THERAPIST in team and Role.PRESCRIBER in team:
            return patient, team
    return None


def build(ctx: DemoContext) -> None:
    found = _patient(ctx)
    if found is None:
        return
    patient, team = found
    therapist, prescriber = team[Role.THERAPIST], team[Role.PRESCRIBER]
    consultant = team.get(Role.PSYCHIATRIC_CONSULTANT, prescriber)
    now = timezone.now()
    before = Handoff.objects.filter(patient=patient).count()

    do_send_handoff(
        patient,
        kind="consult_request",
        sender=therapist,
        recipient=consultant,
        due_by=now + timedelta(days=4),
        details={
            "question": "PHQ-9 has stayed at 14–15 for five weeks despite good attendance. Would you "
            "review at this week's case review whether to augment or switch?",
            "urgency": "soon",
        },
        idempotency_key="demo-handoff-consult",
    )
    change, _ = do_send_handoff(
        patient,
        kind="medication_change",
        sender=prescriber,
        recipient=therapist,
        due_by=now + timedelta(days=5),
        details={
            "what_changed": "Sertraline increased from 50 mg to 100 mg each morning, from Monday.",
            "watch_for": "Restlessness or agitation in the first two weeks, worse sleep, and any new "
            "or worsening thoughts of self-harm.",
        },
        idempotency_key="demo-handoff-medchange",
    )
    if change.status == HandoffStatus.OPEN:
        do_acknowledge_handoff(change, acting_user=therapist)
    session = (
        Session.objects.filter(
            patient=patient,
            clinician=therapist,
            kind=SessionKind.THERAPY,
            status=SessionStatus.ATTENDED,
            starts_at__lte=now,
        )
        .order_by("-starts_at")
        .first()
    )
    observation, _ = do_send_handoff(
        patient,
        kind="session_observation",
        sender=therapist,
        recipient=prescriber,
        due_by=now + timedelta(days=2),
        details={
            "observation_type": "side_effect",
            "observation": "Raised in session: wakes at 3 a.m. most nights since the dose went up, "
            "and feels jittery in the mornings.",
        },
        session=session,
        idempotency_key="demo-handoff-observation",
    )
    if observation.status != HandoffStatus.DONE:
        do_complete_handoff(
            observation,
            note="Called Maya: moved the dose to the morning with breakfast and reviewed sleep hygiene. "
            "Will recheck at the medication visit in two weeks.",
            acting_user=prescriber,
        )
    made = Handoff.objects.filter(patient=patient).count() - before
    if made:
        ctx.count("hand-offs", made)

    team_thread, created = do_start_thread(
        patient,
        audience=Audience.TEAM,
        subject="Sleep since the dose increase",
        body="Maya says sleep is worse since the increase. Worth keeping the dose and moving it to the morning?",
        acting_user=therapist,
        author_role=Role.THERAPIST,
        idempotency_key="demo-thread-team",
    )
    do_post_message(
        team_thread,
        body="Agreed — keep 100 mg, take it with breakfast. I'll see her in two weeks.",
        acting_user=prescriber,
        author_role=Role.PRESCRIBER,
        idempotency_key="demo-message-team-1",
    )
    do_mark_read(team_thread, therapist)
    shared, _ = do_start_thread(
        patient,
        audience=Audience.TEAM_PATIENT,
        subject="Your next appointment",
        body="Hi Maya, we moved Thursday's session to 10:00. Does that still work for you?",
        acting_user=therapist,
        author_role=Role.THERAPIST,
        idempotency_key="demo-thread-patient",
    )
    if patient.portal_user_id:
        portal_user = User.objects.get(pk=patient.portal_user_id)
        do_mark_read(shared, portal_user)
        do_post_message(
            shared,
            body="Yes, 10:00 is fine. Thank you!",
            acting_user=portal_user,
            author_role="patient",
            idempotency_key="demo-message-patient-1",
        )
        do_mark_read(shared, therapist)
    if created:
        ctx.count("message threads", 2)
