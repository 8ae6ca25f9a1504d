"""Alerts: one model for every signal about a patient (safety, side effects, non-adherence, labs,
missed sessions, treat-to-target, plan changes…). Each says why it fired and cites its rule.
Routing to roles, escalation and the inbox are built on this model."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

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

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "dedup_key"],
                condition=~Q(status="resolved"),
                name="alert_one_open_per_condition",
            ),
        ]
        indexes = [models.Index(fields=["patient", "status"]), models.Index(fields=["status", "severity"])]

    def __str__(self) -> str:
        return f"{self.get_severity_display()} alert for patient {self.patient_id}: {self.title}"
