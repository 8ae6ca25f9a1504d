"""Care-team minutes per patient, activity and day, for collaborative-care and BHI billing.

The day and its month are the patient's local calendar day and month: CMS counts time per
calendar month (clinical-facts.md §H), and the patient's month is the one that is billed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tandem.accounts.models import Role
from tandem.patients.models import Patient

MAX_MINUTES = 240  # one entry; longer work is logged as several entries
NOTE_MAX = 300


class Activity(models.TextChoices):
    ASSESSMENT = "assessment", "Assessment"
    CARE_PLANNING = "care_planning", "Care planning"
    FOLLOW_UP = "follow_up", "Follow-up contact"
    REGISTRY_REVIEW = "registry_review", "Registry review"
    CASE_REVIEW = "case_review", "Case review with the psychiatric consultant"
    COORDINATION = "coordination", "Care coordination"
    BRIEF_INTERVENTION = "brief_intervention", "Brief intervention"
    MEASUREMENT = "measurement", "Measurement (rating scales)"
    RELAPSE_PREVENTION = "relapse_prevention", "Relapse-prevention planning"


class TimeEntry(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="care_time")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="care_time")
    role = models.CharField(max_length=32, help_text="The care-team role the time was logged in")
    activity = models.CharField(max_length=32, choices=Activity.choices)
    day = models.DateField(help_text="The patient's local calendar day")
    month = models.DateField(help_text="The first day of the patient's local calendar month of `day`")
    minutes = models.PositiveSmallIntegerField()
    note = models.CharField(max_length=NOTE_MAX, blank=True)
    idempotency_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["day", "created_at", "id"]
        indexes = [
            models.Index(fields=["patient", "month"]),
            models.Index(fields=["month", "patient"]),
            models.Index(fields=["patient", "role", "day"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(minutes__gte=1) & Q(minutes__lte=MAX_MINUTES), name="caretime_minutes_range"
            ),
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="caretime_unique_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.minutes} min {self.activity} for patient {self.patient_id} on {self.day}"

    @property
    def role_label(self) -> str:
        return str(dict(Role.choices).get(self.role, self.role))
