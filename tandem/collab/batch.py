"""Raising many alerts at once (a recompute over a batch of patients): the same alerts, routes,
audit rows and notifications as `do_raise_alert` called for each in turn, written with one
insert per table.

Each alert is deduplicated per open condition exactly as one by one: an alert whose patient
already has one open for its dedup key is not raised again (that one is answered, not created),
nor is the second of two with the same patient and key in the batch. Routing rules and
escalation policies are read once per organisation. Should the insert meet an alert opened
meanwhile by someone else, the batch is raised one by one instead, which answers that one with
the alert already open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from tandem.accounts.models import Notification, User
from tandem.accounts.tasks import send_email
from tandem.audit.actions import patient_event, record_audit_many
from tandem.audit.models import Action
from tandem.collab.actions import alert_notice, alert_page, do_raise_alert
from tandem.collab.escalation import ack_due, policy_for
from tandem.collab.models import Alert, AlertRoute, AlertStatus
from tandem.collab.routing import ALL_ROLES, routes_for
from tandem.patients.models import CareTeamMember, Patient, active_on


@dataclass
class AlertToRaise:
    """The arguments of one `do_raise_alert` call."""

    patient: Patient
    kind: str
    severity: str
    title: str
    reason: str
    rule_id: str
    dedup_key: str
    route_to: list[str]
    source: str = ""
    subject: Any = None
    notify_roles: list[str] | None = None
    link: str = ""
    escalate: bool = False

    def one_by_one(self, now: datetime) -> tuple[Alert, bool]:
        return do_raise_alert(
            self.patient,
            kind=self.kind,
            severity=self.severity,
            title=self.title,
            reason=self.reason,
            rule_id=self.rule_id,
            source=self.source,
            dedup_key=self.dedup_key,
            route_to=self.route_to,
            subject=self.subject,
            notify_roles=self.notify_roles,
            link=self.link,
            escalate=self.escalate,
            now=now,
        )


def do_raise_alerts(wanted: list[AlertToRaise], *, now: datetime | None = None) -> list[tuple[Alert, bool]]:
    """`do_raise_alert` for each, in order, in the caller's transaction: (alert, created) each."""
    if not wanted:
        return []
    now = now or timezone.now()
    try:
        with transaction.atomic():
            return _in_bulk(wanted, now)
    except IntegrityError:  # an alert opened meanwhile: each on its own finds it
        with transaction.atomic():
            return [item.one_by_one(now) for item in wanted]


def _in_bulk(wanted: list[AlertToRaise], now: datetime) -> list[tuple[Alert, bool]]:
    routes: dict[tuple[int, str, tuple[str, ...]], list[str]] = {}
    due: dict[int, datetime] = {}
    open_now = _open_alerts({(w.patient.pk, w.dedup_key[:200]) for w in wanted})
    results: list[tuple[Alert, bool] | None] = []
    new: list[tuple[AlertToRaise, Alert]] = []
    for item in wanted:
        patient = item.patient
        key = (patient.pk, item.dedup_key[:200])
        if key in open_now:
            results.append((open_now[key], False))
            continue
        rule = (patient.organisation_id, item.kind, tuple(item.route_to))
        if rule not in routes:
            routes[rule] = routes_for(patient.organisation_id, item.kind, item.route_to)
        ack_due_at = None
        if item.escalate:
            if patient.organisation_id not in due:
                due[patient.organisation_id] = ack_due(policy_for(patient.organisation), now)
            ack_due_at = due[patient.organisation_id]
        subject = item.subject
        alert = Alert(
            patient=patient,
            kind=item.kind,
            severity=item.severity,
            title=item.title[:200],
            reason=item.reason,
            rule_id=item.rule_id,
            source=item.source[:500],
            dedup_key=item.dedup_key[:200],
            route_to=routes[rule],
            subject_type=type(subject).__name__ if subject is not None else "",
            subject_id=str(getattr(subject, "pk", "") or ""),
            link=item.link[:300],
            created_at=now,
            ack_due_at=ack_due_at,
        )
        open_now[key] = alert  # a second of the same condition finds this one
        results.append(None)
        new.append((item, alert))
    if new:
        _write(new, now)
    created = iter(alert for _, alert in new)
    return [result if result is not None else (next(created), True) for result in results]


def _open_alerts(keys: set[tuple[int, str]]) -> dict[tuple[int, str], Alert]:
    """The open alert of each (patient, dedup key), as do_raise_alert finds it."""
    found: dict[tuple[int, str], Alert] = {}
    for alert in (
        Alert.objects.filter(patient_id__in={p for p, _ in keys}, dedup_key__in={k for _, k in keys}).exclude(
            status=AlertStatus.RESOLVED
        )
    ).order_by("-created_at"):
        found.setdefault((alert.patient_id, alert.dedup_key), alert)
    return {key: alert for key, alert in found.items() if key in keys}


def _write(new: list[tuple[AlertToRaise, Alert]], now: datetime) -> None:
    alerts = Alert.objects.bulk_create([alert for _, alert in new])
    AlertRoute.objects.bulk_create(
        [
            AlertRoute(alert=alert, role=role)
            for alert in alerts
            for role in (list(dict.fromkeys(str(r) for r in alert.route_to)) or ALL_ROLES)
        ]
    )
    record_audit_many(
        [
            patient_event(
                None,
                Action.CREATE,
                "Alert",
                alert.pk,
                item.patient,
                rule=item.rule_id,
                severity=item.severity,
                route_to=alert.route_to,
                ack_due_at=alert.ack_due_at.isoformat() if alert.ack_due_at else None,
            )
            for item, alert in new
        ]
    )
    team = _teams({item.patient.pk for item, _ in new})
    notices: list[Notification] = []
    for item, alert in new:
        patient = item.patient
        page = alert_page(patient, item.link)
        routed = _recipients(team.get(patient.pk, []), alert.route_to)
        notices += _notify(routed, **alert_notice(alert, patient, item.title, page))
        if item.notify_roles:
            told = {u.pk for u in routed}
            others = [u for u in _recipients(team.get(patient.pk, []), item.notify_roles) if u.pk not in told]
            notices += _notify(others, f"For your information — {patient.name}: {item.title}", link=page)
    Notification.objects.bulk_create(notices)


def _teams(patient_ids: set[int]) -> dict[int, list[CareTeamMember]]:
    """Each patient's care team today, in the order do_raise_alert reads it."""
    team: dict[int, list[CareTeamMember]] = {}
    members = CareTeamMember.objects.filter(
        active_on(timezone.localdate()), patient_id__in=patient_ids
    ).select_related("user")
    for member in members:
        team.setdefault(member.patient_id, []).append(member)
    return team


def _recipients(members: list[CareTeamMember], roles: list[str]) -> list[User]:
    return list(
        {m.user_id: m.user for m in members if (not roles or m.role in roles) and m.user.is_active}.values()
    )


def _notify(
    users: list[User], text: str, *, link: str, email_subject: str = "", email_body: str = ""
) -> list[Notification]:
    """do_notify's notifications (to be inserted by the caller) and its e-mail."""
    recipients = list({u.pk: u for u in users if u.is_active}.values())
    emails = sorted(u.email for u in recipients)
    if email_subject and emails:
        transaction.on_commit(lambda: send_email.enqueue(emails, email_subject, email_body))
    return [Notification(user=u, text=text[:500], link=link) for u in recipients]
