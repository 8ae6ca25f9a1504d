"""Escalating alerts that are not acknowledged in time.

An alert raised with `escalate=True` gets `ack_due_at` from its organisation's EscalationPolicy
(a window, 60 minutes by default, and optional clinic hours in the organisation's time zone).
The periodic job `escalate_due(now)` finds open alerts past `ack_due_at` and moves each to the
next step of the chain (care manager → prescriber → on-call contact by default): level 1 is the
first step, level 2 the second, and so on.

- The window ends AT `ack_due_at`: an alert still open at that instant escalates.
- Clinic hours: inside them the window runs from the moment the alert is raised (or escalated).
  Outside them the policy chooses: `on_call` (the default) — the alert is due at once and goes
  straight to the on-call contact, because nobody is there to acknowledge it; or `next_opening`
  — the window starts at the next opening.
- A step with nobody to tell (no care manager on the team) is passed over to the next one.
- After the last step nothing more is due (`ack_due_at` is cleared); the alert stays open.
- Acknowledging or resolving an alert stops it: only OPEN alerts are escalated.
- Claimed by a conditional UPDATE (… WHERE status = 'open' AND escalation_level = what we read
  AND ack_due_at = what we read) in the same transaction as the notices, so two workers never
  escalate one alert twice.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.actions import do_notify
from tandem.accounts.models import Membership, Organisation, Role, User
from tandem.accounts.tasks import send_email
from tandem.audit.actions import audit_patient_event
from tandem.audit.models import Action
from tandem.collab.models import (
    DEFAULT_CHAIN,
    Alert,
    AlertEscalation,
    AlertStatus,
    EscalationPolicy,
    EscalationStep,
    OutsideHours,
)
from tandem.collab.routing import write_routes
from tandem.core import jobs
from tandem.patients.models import CareTeamMember, Patient, active_on

DEFAULT_WINDOW = timedelta(minutes=60)
EMAIL_SUBJECT = "Tandem: an urgent alert is waiting"
STEP_LABELS = dict(EscalationStep.choices)


@dataclass(frozen=True)
class Policy:
    window: timedelta = DEFAULT_WINDOW
    tz: zoneinfo.ZoneInfo = field(default_factory=lambda: zoneinfo.ZoneInfo("America/New_York"))
    hours: Mapping[int, Sequence[tuple[time, time]]] = field(default_factory=dict)
    outside_hours: str = OutsideHours.ON_CALL
    chain: tuple[str, ...] = tuple(DEFAULT_CHAIN)
    on_call_user: User | None = None
    on_call_phone: str = ""
    on_call_email: str = ""


class PolicyError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def parse_hours(raw: Mapping[str, Any]) -> dict[int, list[tuple[time, time]]]:
    """{"0": [["09:00", "17:00"]], …} → {0: [(09:00, 17:00)]}; PolicyError names a bad entry."""
    hours: dict[int, list[tuple[time, time]]] = {}
    for day, spans in (raw or {}).items():
        if str(day) not in {str(n) for n in range(7)}:
            raise PolicyError("clinic_hours", f"{day!r} is not a weekday (0 = Monday … 6 = Sunday)")
        for span in spans:
            try:
                start, end = (time.fromisoformat(part) for part in span)
            except (TypeError, ValueError):
                raise PolicyError("clinic_hours", f"{span!r} is not a pair of HH:MM times") from None
            if end <= start:
                raise PolicyError("clinic_hours", f"{span!r} closes before it opens")
            hours.setdefault(int(day), []).append((start, end))
    return hours


def policy_for(organisation: Organisation) -> Policy:
    row = EscalationPolicy.objects.filter(organisation=organisation).select_related("on_call_user").first()
    tz = zoneinfo.ZoneInfo(organisation.time_zone)
    if row is None:
        return Policy(tz=tz)
    return Policy(
        window=timedelta(minutes=row.ack_window_minutes),
        tz=tz,
        hours=parse_hours(row.clinic_hours),
        outside_hours=row.outside_hours,
        chain=tuple(row.chain or DEFAULT_CHAIN),
        on_call_user=row.on_call_user,
        on_call_phone=row.on_call_phone,
        on_call_email=row.on_call_email,
    )


# Clinic hours ---------------------------------------------------------------------------------


def is_open(policy: Policy, at: datetime) -> bool:
    if not policy.hours:
        return True
    local = at.astimezone(policy.tz)
    wall = local.time().replace(tzinfo=None)
    return any(start <= wall < end for start, end in policy.hours.get(local.weekday(), ()))


def next_opening(policy: Policy, at: datetime) -> datetime:
    """`at` itself when open, else the next opening (DST-safe: built from local wall times)."""
    if is_open(policy, at):
        return at
    local = at.astimezone(policy.tz)
    for ahead in range(8):
        day = local.date() + timedelta(days=ahead)
        for start, _end in sorted(policy.hours.get(day.weekday(), ())):
            opening = datetime.combine(day, start, tzinfo=policy.tz).astimezone(at.tzinfo)
            if opening > at:
                return opening
    return at  # clinic hours with no opening at all: treated as always open


def ack_due(policy: Policy, at: datetime) -> datetime:
    """When an alert raised (or escalated) at `at` must be acknowledged."""
    if is_open(policy, at):
        return at + policy.window
    if policy.outside_hours == OutsideHours.NEXT_OPENING:
        return next_opening(policy, at) + policy.window
    return at  # nobody is in: due at once, and the job goes straight to the on-call contact


# Planning one escalation (no writes) -----------------------------------------------------------


@dataclass
class Plan:
    level: int  # the level reached (1-based position in the chain); the seen level when none
    step: str = ""
    users: list[User] = field(default_factory=list)
    contacts: list[str] = field(default_factory=list)
    passed_over: list[str] = field(default_factory=list)
    next_due: datetime | None = None
    note: str = ""


def _team_by_role(patient: Patient) -> dict[str, list[User]]:
    team: dict[str, list[User]] = {}
    rows = CareTeamMember.objects.filter(active_on(timezone.localdate()), patient=patient).select_related(
        "user"
    )
    for member in rows:
        if member.user.is_active:
            team.setdefault(member.role, []).append(member.user)
    return team


def _org_admins(organisation_id: int) -> list[User]:
    return [
        m.user
        for m in Membership.objects.filter(
            organisation_id=organisation_id, role=Role.ORG_ADMIN, is_active=True
        ).select_related("user")
    ]


def plan_escalation(
    policy: Policy, seen_level: int, now: datetime, team: Mapping[str, list[User]], organisation_id: int
) -> Plan:
    chain = list(policy.chain)
    position = seen_level  # index of the next step
    if not is_open(policy, now) and policy.outside_hours == OutsideHours.ON_CALL and "on_call" in chain:
        position = max(position, chain.index("on_call"))
    passed: list[str] = []
    while position < len(chain):
        step = chain[position]
        level = position + 1
        last = level == len(chain)
        next_due = None if last else ack_due(policy, now)
        if step == EscalationStep.ON_CALL:
            users = [policy.on_call_user] if policy.on_call_user and policy.on_call_user.is_active else []
            contacts = [c for c in (policy.on_call_email, policy.on_call_phone) if c]
            note = ""
            if not users and not contacts:
                users = _org_admins(organisation_id)
                note = "No on-call contact is set; the organisation's administrators were told."
            return Plan(level, step, users, contacts, passed, next_due, note)
        users = list(team.get(step, []))
        if users:
            return Plan(level, step, users, [], passed, next_due)
        passed.append(step)
        position += 1
    return Plan(seen_level, passed_over=passed)


# The job ---------------------------------------------------------------------------------------


def escalate_one(alert_id: int, seen_level: int, seen_due: datetime, now: datetime) -> bool:
    """Escalate one alert seen open at `seen_level`, due at `seen_due`; False when another worker
    got there first, the alert was acknowledged meanwhile, or the chain is at its end."""
    with transaction.atomic():
        alert = Alert.objects.select_related("patient__organisation").filter(pk=alert_id).first()
        if alert is None or alert.status != AlertStatus.OPEN:
            return False
        patient = alert.patient
        policy = policy_for(patient.organisation)
        plan = plan_escalation(policy, seen_level, now, _team_by_role(patient), patient.organisation_id)
        claimed = Alert.objects.filter(
            pk=alert_id, status=AlertStatus.OPEN, escalation_level=seen_level, ack_due_at=seen_due
        ).update(
            escalation_level=plan.level,
            escalated_at=now if plan.step else alert.escalated_at,
            ack_due_at=plan.next_due,
        )
        if claimed != 1 or not plan.step:
            return False
        if plan.step != EscalationStep.ON_CALL and plan.step not in alert.route_to:
            Alert.objects.filter(pk=alert_id).update(route_to=[*alert.route_to, plan.step])
            write_routes(alert, [*alert.route_to, plan.step])
        record = AlertEscalation.objects.create(
            alert=alert,
            level=plan.level,
            step=plan.step,
            contact=", ".join(plan.contacts)[:200],
            note=" ".join(
                [*(f"No {STEP_LABELS.get(s, s).lower()} on the team." for s in plan.passed_over), plan.note]
            ).strip()[:300],
            at=now,
        )
        record.notified.set(plan.users)
        _tell(alert, patient, plan)
        audit_patient_event(
            None,
            Action.UPDATE,
            "Alert",
            alert.pk,
            patient,
            request=None,
            change="escalated",
            level=plan.level,
            step=plan.step,
            notified=[u.pk for u in plan.users],
            contacts=len(plan.contacts),
        )
    return True


def _tell(alert: Alert, patient: Patient, plan: Plan) -> None:
    page = settings.SITE_URL + (
        alert.link or reverse("collab:patient_alerts", kwargs={"patient_id": patient.pk})
    )
    body = (
        "An urgent alert for a patient of your organisation has not been acknowledged in time. "
        f"Sign in to see it and acknowledge it: {page}"
    )
    if plan.step == EscalationStep.ON_CALL:
        # The on-call contact may not be on the patient's team: nothing identifying, in-app either.
        text = f"On call: an urgent alert at {patient.organisation.name} has not been acknowledged in time."
    else:
        text = f"Not acknowledged in time — {alert.get_severity_display().lower()} alert for {patient.name}: {alert.title}"
    do_notify(plan.users, text, link=page, email_subject=EMAIL_SUBJECT, email_body=body)
    emails = sorted({c for c in plan.contacts if "@" in c} - {u.email for u in plan.users})
    if emails:
        transaction.on_commit(lambda: send_email.enqueue(emails, EMAIL_SUBJECT, body))


@dataclass
class EscalationRun:
    due: int = 0
    escalated: int = 0


def escalate_due(now: datetime, limit: int = 500) -> EscalationRun:
    """Escalate every open alert whose acknowledgement is due at `now` (one claim at a time)."""
    rows = list(
        Alert.objects.filter(status=AlertStatus.OPEN, ack_due_at__lte=now)
        .order_by("ack_due_at", "pk")
        .values_list("pk", "escalation_level", "ack_due_at")[:limit]
    )
    run = EscalationRun(due=len(rows))
    for pk, level, due in rows:
        if jobs.stop_requested():
            break
        if due is not None and escalate_one(pk, level, due, now):
            run.escalated += 1
    return run


ESCALATE_EVERY = 60  # seconds: a window is counted in minutes


def register_jobs() -> None:
    jobs.register("collab.escalate_alerts", ESCALATE_EVERY, escalate_due)
