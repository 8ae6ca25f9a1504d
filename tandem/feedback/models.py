"""Feedback: the patient's view of each visit, and the between-session check-in.

Visit feedback is about one clinician and reaches only that clinician and the patient's care
manager(s) (tandem.feedback.access); check-ins are for the whole care team.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tandem.patients.models import Patient
from tandem.therapy.models import Session

RATING = [MinValueValidator(0), MaxValueValidator(10)]


class FeedbackStatus(models.TextChoices):
    GIVEN = "given", "Given"
    NOT_NOW = "not_now", "Not now"
    DECLINED = "declined", "Prefer not to"


class VisitFeedback(models.Model):
    """The patient's answer about one visit: ratings and words, or a skip. One per visit.

    "Not now" keeps the visit open for feedback while the window lasts; "prefer not to" closes it.
    The clinician is copied from the visit when the answer is stored, so the pair stays the one
    the patient rated even if the visit is later reassigned.
    """

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="visit_feedback")
    session = models.OneToOneField(Session, on_delete=models.CASCADE, related_name="feedback")
    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12)  # the visit's kind: therapy | medication
    visit_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=FeedbackStatus.choices)
    instrument = models.CharField(max_length=60, blank=True)
    instrument_version = models.CharField(max_length=20, blank=True)
    heard = models.PositiveSmallIntegerField(null=True, blank=True, validators=RATING)
    goals = models.PositiveSmallIntegerField(null=True, blank=True, validators=RATING)
    approach = models.PositiveSmallIntegerField(null=True, blank=True, validators=RATING)
    overall = models.PositiveSmallIntegerField(null=True, blank=True, validators=RATING)
    working = models.TextField(blank=True)
    not_working = models.TextField(blank=True)
    better = models.TextField(blank=True)
    findings = models.JSONField(default=list, blank=True, help_text="rules that fired: rule_id and reason")
    submitted_at = models.DateTimeField(default=timezone.now)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-visit_at"]
        indexes = [
            models.Index(fields=["patient", "clinician", "visit_at"]),
            models.Index(fields=["clinician", "visit_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="given")
                | (
                    Q(heard__isnull=False)
                    & Q(goals__isnull=False)
                    & Q(approach__isnull=False)
                    & Q(overall__isnull=False)
                ),
                name="visitfeedback_given_has_ratings",
            ),
            models.CheckConstraint(
                condition=(Q(heard__lte=10) | Q(heard__isnull=True))
                & (Q(goals__lte=10) | Q(goals__isnull=True))
                & (Q(approach__lte=10) | Q(approach__isnull=True))
                & (Q(overall__lte=10) | Q(overall__isnull=True)),
                name="visitfeedback_ratings_0_10",
            ),
        ]

    def __str__(self) -> str:
        return f"Feedback on session {self.session_id} ({self.status})"

    @property
    def ratings(self) -> dict[str, int | None]:
        return {"heard": self.heard, "goals": self.goals, "approach": self.approach, "overall": self.overall}


class CheckIn(models.Model):
    """One between-session check-in per local day of the patient: mood and anxiety 0–10, hours
    slept (half hours), a one-line note. Each part is optional; a second check-in that day
    updates the first."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="checkins")
    day = models.DateField(help_text="the patient's local date")
    mood = models.PositiveSmallIntegerField(null=True, blank=True, validators=RATING)
    anxiety = models.PositiveSmallIntegerField(null=True, blank=True, validators=RATING)
    sleep_hours = models.DecimalField(
        max_digits=3,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(24)],
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_key = models.CharField(max_length=64, blank=True, help_text="idempotency key of the last submit")

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "day"], name="checkin_one_per_day"),
            models.CheckConstraint(
                condition=(Q(mood__lte=10) | Q(mood__isnull=True))
                & (Q(anxiety__lte=10) | Q(anxiety__isnull=True))
                & (Q(sleep_hours__gte=0, sleep_hours__lte=24) | Q(sleep_hours__isnull=True)),
                name="checkin_ranges",
            ),
        ]

    def __str__(self) -> str:
        return f"Check-in of patient {self.patient_id} on {self.day}"
