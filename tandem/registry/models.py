"""Systematic case review: requests from the team and the consultant's recommendations.

The weekly review list itself is a read model (tandem/registry/review.py) computed from the
record; what is stored is what people did: a team member asked for a patient to be reviewed in
a given week, and the psychiatric consultant recommended something, which became a hand-off.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from tandem.handoffs.models import Handoff
from tandem.patients.models import Patient

REASON_MAX = 1000
TEXT_MAX = 4000


class Area(models.TextChoices):
    MEDICATION = "medication", "Medication"
    THERAPY = "therapy", "Therapy"
    OTHER = "other", "Other"


class ReviewRequest(models.Model):
    """A team member asks for the patient to be discussed at the week's case review."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    week = models.DateField(help_text="Monday of the review week (the organisation's calendar)")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_role = models.CharField(max_length=32)
    reason = models.CharField(max_length=REASON_MAX)
    requested_at = models.DateTimeField(default=timezone.now)
    idempotency_key = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["week", "patient"]), models.Index(fields=["patient", "requested_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["requested_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="registry_request_idempotent",
            )
        ]

    def __str__(self) -> str:
        return f"case review requested for patient {self.patient_id} (week of {self.week})"


class Recommendation(models.Model):
    """The consultant's recommendation for one patient at one week's review, sent as a hand-off."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    week = models.DateField(help_text="Monday of the review week")
    area = models.CharField(max_length=12, choices=Area.choices)
    text = models.TextField()
    consultant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    handoff = models.ForeignKey(Handoff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    idempotency_key = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["week", "patient"]), models.Index(fields=["patient", "created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["consultant", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="registry_recommendation_idempotent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_area_display()} recommendation for patient {self.patient_id}"
