"""Raising, acknowledging and resolving alerts: one transaction each, audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.actions import do_notify
from tandem.accounts.models import Organisation, User
from tandem.audit.actions import audit_patient_event, record_audit
from tandem.audit.models import Action
from tandem.collab.escalation import PolicyError, ack_due, parse_hours, policy_for
from tandem.collab.models import (
    Alert,
    AlertStatus,
    EscalationPolicy,
    EscalationStep,
    OutsideHours,
    Severity,
    default_chain,
)
from tandem.collab.routing import routes_for, write_routes
from tandem.patients.models import CareTeamMember, Patient, active_on


class AlertError(ValueError):
    pass


def _recipients(patient: Patient, roles: list[str]) -> list[User]:
    members = CareTeamMember.objects.filter(active_on(timezone.localdate()), patient=patient).select_related(
        "user"
    )
    return list(
        {m.user_id: m.user for m in members if (not roles or m.role in roles) and m.user.is_active}.values()
    )


def alert_page(patient: Patient, link: str = "") -> str:
    """Where an alert's notification leads: its own link, else the patient's alerts."""
    return settings.SITE_URL + (link or reverse("collab:patient_alerts", kwargs={"patient_id": patient.pk}))


def alert_notice(alert: Alert, patient: Patient, title: str, page: str) -> dict[str, str]:
    """do_notify's text and e-mail for a raised alert to those it is routed to (an e-mail for
    urgent ones only, with no patient detail: it says to sign in)."""
    urgent = alert.severity == Severity.URGENT
    return {
        "text": f"{alert.get_severity_display()} alert for {patient.name}: {title}",
        "link": page,
        "email_subject": "Tandem: an urgent alert" if urgent else "",
        "email_body": f"An urgent alert was raised for a patient on your team. Sign in to see it: {page}"
        if urgent
        else "",
    }


def do_raise_alert(
    patient: Patient,
    *,
    kind: str,
    severity: str,
    title: str,
    reason: str,
    rule_id: str,
    source: str = "",
    dedup_key: str,
    route_to: list[str],
    subject: Any = None,
    notify_roles: list[str] | None = None,
    link: str = "",
    escalate: bool = False,
    now: datetime | None = None,
) -> tuple[Alert, bool]:
    """Open an alert unless the same condition already has one open; (alert, created).

    `route_to` is replaced by the organisation's routing rule for `kind` when it has one
    (tandem/collab/routing.py). Everyone on the team in those roles is told in-app; urgent alerts also by e-mail (sent
    by the worker, without patient details). `notify_roles` adds roles that only get a notice.
    With `escalate`, the alert must be acknowledged within the organisation's window or it is
    escalated (tandem/collab/escalation.py).
    """
    now = now or timezone.now()
    route_to = routes_for(patient.organisation_id, kind, route_to)
    ack_due_at = ack_due(policy_for(patient.organisation), now) if escalate else None
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                patient=patient,
                kind=kind,
                severity=severity,
                title=title[:200],
                reason=reason,
                rule_id=rule_id,
                source=source[:500],
                dedup_key=dedup_key[:200],
                route_to=route_to,
                subject_type=type(subject).__name__ if subject is not None else "",
                subject_id=str(getattr(subject, "pk", "") or ""),
                link=link[:300],
                created_at=now,
                ack_due_at=ack_due_at,
            )
            write_routes(alert, route_to)
    except IntegrityError:
        existing = (
            Alert.objects.filter(patient=patient, dedup_key=dedup_key[:200])
            .exclude(status=AlertStatus.RESOLVED)
            .first()
        )
        if existing is None:
            raise
        return existing, False
    audit_patient_event(
        None,
        Action.CREATE,
        "Alert",
        alert.pk,
        patient,
        request=None,
        rule=rule_id,
        severity=severity,
        route_to=route_to,
        ack_due_at=ack_due_at.isoformat() if ack_due_at else None,
    )
    page = alert_page(patient, link)
    do_notify(_recipients(patient, route_to), **alert_notice(alert, patient, title, page))
    if notify_roles:
        others = [
            u
            for u in _recipients(patient, notify_roles)
            if u.pk not in {r.pk for r in _recipients(patient, route_to)}
        ]
        do_notify(others, f"For your information — {patient.name}: {title}", link=page)
    return alert, True


@transaction.atomic
def do_acknowledge_alert(
    alert: Alert, *, acting_user: User, role: str = "", request: HttpRequest | None = None
) -> Alert:
    alert = Alert.objects.select_for_update(of=("self",)).select_related("patient").get(pk=alert.pk)
    if alert.status != AlertStatus.OPEN:
        return alert
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_by = acting_user
    alert.acknowledged_at = timezone.now()
    alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at"])
    audit_patient_event(
        acting_user,
        Action.UPDATE,
        "Alert",
        alert.pk,
        alert.patient,
        request=request,
        role=role,
        change="acknowledged",
    )
    return alert


@transaction.atomic
def do_resolve_alert(
    alert: Alert, *, note: str, acting_user: User, role: str = "", request: HttpRequest | None = None
) -> Alert:
    if not note.strip():
        raise AlertError("Say how the alert was resolved.")
    alert = Alert.objects.select_for_update(of=("self",)).select_related("patient").get(pk=alert.pk)
    if alert.status == AlertStatus.RESOLVED:
        return alert
    now = timezone.now()
    if alert.acknowledged_at is None:
        alert.acknowledged_by, alert.acknowledged_at = acting_user, now
    alert.status = AlertStatus.RESOLVED
    alert.resolved_by, alert.resolved_at, alert.resolution_note = acting_user, now, note.strip()[:4000]
    alert.save(
        update_fields=[
            "status",
            "acknowledged_by",
            "acknowledged_at",
            "resolved_by",
            "resolved_at",
            "resolution_note",
        ]
    )
    audit_patient_event(
        acting_user,
        Action.UPDATE,
        "Alert",
        alert.pk,
        alert.patient,
        request=request,
        role=role,
        change="resolved",
    )
    return alert


@transaction.atomic
def do_set_escalation_policy(
    organisation: Organisation,
    *,
    ack_window_minutes: int = 60,
    clinic_hours: dict[str, list[list[str]]] | None = None,
    outside_hours: str = OutsideHours.ON_CALL,
    chain: list[str] | None = None,
    on_call_user: User | None = None,
    on_call_phone: str = "",
    on_call_email: str = "",
    acting_user: User | None,
) -> EscalationPolicy:
    """Set how an organisation's alerts escalate (audited, organisation-wide); PolicyError names
    the setting at fault."""
    if not 1 <= ack_window_minutes <= 24 * 60:
        raise PolicyError("ack_window_minutes", "must be 1 to 1440 minutes")
    parse_hours(clinic_hours or {})
    if outside_hours not in OutsideHours.values:
        raise PolicyError("outside_hours", "must be on_call or next_opening")
    chain = list(chain or default_chain())
    if not chain or any(step not in EscalationStep.values for step in chain) or len(set(chain)) != len(chain):
        raise PolicyError("chain", f"steps must be distinct, among {', '.join(EscalationStep.values)}")
    policy, _ = EscalationPolicy.objects.update_or_create(
        organisation=organisation,
        defaults={
            "ack_window_minutes": ack_window_minutes,
            "clinic_hours": clinic_hours or {},
            "outside_hours": outside_hours,
            "chain": chain,
            "on_call_user": on_call_user,
            "on_call_phone": on_call_phone.strip()[:40],
            "on_call_email": on_call_email.strip(),
            "updated_at": timezone.now(),
        },
    )
    record_audit(
        actor=acting_user,
        actor_label="console",
        action=Action.UPDATE,
        entity_type="EscalationPolicy",
        entity_id=policy.pk,
        organisation=organisation.pk,
        extra={
            "ack_window_minutes": ack_window_minutes,
            "outside_hours": outside_hours,
            "chain": chain,
            "clinic_hours": bool(clinic_hours),
            "on_call_user": on_call_user.pk if on_call_user else None,
        },
    )
    return policy
