"""Alerts: one model for every signal about a patient (safety, side effects, non-adherence, labs,
missed sessions, treat-to-target, plan changes…). Each says why it fired and cites its rule.
Routing to roles, escalation and the inbox are built on this model."""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tandem.accounts.models import Organisation
from tandem.patients.models import Patient


class Severity(models.TextChoices):
    URGENT = "urgent", "Urgent"
    HIGH = "high", "High"
    ROUTINE = "routine", "Routine"


SEVERITY_RANK = {Severity.URGENT: 0, Severity.HIGH: 1, Severity.ROUTINE: 2}


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Alert(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=40, help_text="e.g. side_effect, non_adherence, lab, safety")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    title = models.CharField(max_length=200)
    reason = models.TextField(help_text="why it fired, in words a clinician reads")
    rule_id = models.CharField(max_length=80)
    source = models.CharField(max_length=500, blank=True, help_text="the rule's published source")
    # One open alert per condition: a repeat of the same condition adds nothing while it is open.
    dedup_key = models.CharField(max_length=200)
    route_to = models.JSONField(default=list, help_text="care-team roles that must see it")
    subject_type = models.CharField(max_length=40, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    link = models.CharField(max_length=300, blank=True, help_text="where the subject is seen (a path)")
    status = models.CharField(max_length=15, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    # Escalation (tandem/collab/escalation.py): an alert with `ack_due_at` must be acknowledged
    # by then, or the periodic job escalates it to the next step of its organisation's chain.
    ack_due_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "dedup_key"],
                condition=~Q(status="resolved"),
                name="alert_one_open_per_condition",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "status"]),
            models.Index(fields=["status", "severity"]),
            models.Index(fields=["status", "ack_due_at"], name="alert_ack_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_severity_display()} alert for patient {self.patient_id}: {self.title}"


class EscalationStep(models.TextChoices):
    CARE_MANAGER = "care_manager", "Care manager"
    PRESCRIBER = "prescriber", "Prescriber"
    THERAPIST = "therapist", "Therapist"
    ON_CALL = "on_call", "On-call contact"


DEFAULT_CHAIN = [EscalationStep.CARE_MANAGER, EscalationStep.PRESCRIBER, EscalationStep.ON_CALL]


class OutsideHours(models.TextChoices):
    ON_CALL = "on_call", "Go straight to the on-call contact"
    NEXT_OPENING = "next_opening", "Start the window at the next opening"


def default_chain() -> list[str]:
    return [str(step) for step in DEFAULT_CHAIN]


class EscalationPolicy(models.Model):
    """How an organisation escalates alerts that must be acknowledged. Without a row the
    defaults apply: 60 minutes, open around the clock, care manager → prescriber → on call.

    `clinic_hours` maps a weekday ("0" = Monday … "6" = Sunday) to opening spans in the
    organisation's time zone, e.g. {"0": [["09:00", "17:00"]]}; empty means always open.
    """

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="escalation_policy"
    )
    ack_window_minutes = models.PositiveIntegerField(default=60)
    clinic_hours = models.JSONField(default=dict, blank=True)
    outside_hours = models.CharField(
        max_length=20, choices=OutsideHours.choices, default=OutsideHours.ON_CALL
    )
    chain = models.JSONField(default=default_chain)
    on_call_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    on_call_phone = models.CharField(max_length=40, blank=True)
    on_call_email = models.EmailField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Escalation policy of {self.organisation}"


class AlertEscalation(models.Model):
    """One escalation of an alert: its level, the step of the chain, who was told and when."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="escalations")
    level = models.PositiveSmallIntegerField()
    step = models.CharField(max_length=20, choices=EscalationStep.choices)
    notified = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    contact = models.CharField(max_length=200, blank=True, help_text="phone or e-mail told, when not a user")
    note = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["alert", "level"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "level"], name="alert_escalation_once_per_level")
        ]

    def __str__(self) -> str:
        return f"alert {self.alert_id} escalated to level {self.level} ({self.step})"


class AlertRoute(models.Model):
    """One care-team role an alert is routed to (a copy of `Alert.route_to` as rows), so that an
    inbox finds a clinician's alerts with a join in SQL: the alert is theirs when they hold one
    of its roles on the patient's team today."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="routes")
    role = models.CharField(max_length=32)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alert", "role"], name="alert_route_once")]

    def __str__(self) -> str:
        return f"alert {self.alert_id} → {self.role}"


class RoutingRule(models.Model):
    """An organisation's choice of which care-team roles receive one kind of alert. It replaces
    the roles the raising rule asks for (see tandem/collab/routing.py)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="alert_routing")
    kind = models.CharField(max_length=40)
    roles = models.JSONField(default=list)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["organisation", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "kind"], name="routing_rule_once_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} alerts of {self.organisation} → {', '.join(self.roles)}"


def default_digest_time() -> time:
    return time(7, 30)


class DigestPreference(models.Model):
    """A clinician's daily alert digest: on or off, and the local time (in the zone of their
    organisation) it is sent. Without a row the digest is on at 07:30. `last_sent_on` is the
    local day it was last sent: the worker claims a day with a conditional UPDATE on it."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    enabled = models.BooleanField(default=True)
    send_at = models.TimeField(default=default_digest_time)
    last_sent_on = models.DateField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Alert digest of {self.user_id}: {'on' if self.enabled else 'off'} at {self.send_at}"
