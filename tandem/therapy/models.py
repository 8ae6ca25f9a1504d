"""Therapy: sessions (therapy and medication-management visits) and their series.

A session is one appointment of one clinician with one patient. Recurring appointments are a
series that generated its sessions; each session is then its own row (it can be moved, cancelled
or marked attended alone). Attendance is the session's status.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from tandem.patients.models import Patient


class SessionKind(models.TextChoices):
    THERAPY = "therapy", "Therapy session"
    MEDICATION = "medication", "Medication-management visit"


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    ATTENDED = "attended", "Attended"
    CANCELLED = "cancelled", "Cancelled"
    LATE_CANCELLED = "late_cancelled", "Late-cancelled"
    NO_SHOW = "no_show", "No-show"


class Setting(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    TELEHEALTH = "telehealth", "Telehealth (video)"
    PHONE = "phone", "Telephone"


class Modality(models.TextChoices):
    CBT = "cbt", "Cognitive behavioural therapy (CBT)"
    DBT = "dbt", "Dialectical behaviour therapy (DBT)"
    IPT = "ipt", "Interpersonal psychotherapy (IPT)"
    BA = "ba", "Behavioural activation"
    SUPPORTIVE = "supportive", "Supportive therapy"
    OTHER = "other", "Other"


class SessionSeries(models.Model):
    """A recurring appointment: every `interval_weeks` weeks at the same local time, from the
    first session, `count` times or until `until` (inclusive)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="session_series")
    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=SessionKind.choices)
    interval_weeks = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    count = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(104)])
    until = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True, help_text="the rest of the series was cancelled")

    def __str__(self) -> str:
        return f"Series {self.pk} for patient {self.patient_id}"


class Session(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="sessions")
    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=SessionKind.choices, default=SessionKind.THERAPY)
    modality = models.CharField(max_length=12, choices=Modality.choices, blank=True)
    series = models.ForeignKey(
        SessionSeries, null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions"
    )
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(
        default=50, validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    setting = models.CharField(max_length=12, choices=Setting.choices, default=Setting.IN_PERSON)
    place = models.CharField(max_length=200, blank=True)
    telehealth_url = models.URLField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED)
    status_reason = models.CharField(max_length=300, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The key of the form or request that made the session (the first one of a series), so that a
    # double submit or a retry schedules nothing twice.
    idempotency_key = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["patient", "starts_at"]),
            # A patient's attended sessions in a period (trends, registry, attendance): without
            # it SQLite may walk the (status, starts_at) index across every patient's sessions.
            models.Index(fields=["patient", "status", "starts_at"], name="therapy_patient_status_at"),
            models.Index(fields=["clinician", "starts_at"]),
            models.Index(fields=["status", "starts_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="session_once_per_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk} for patient {self.patient_id}"

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


class ReminderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    CANCELLED = "cancelled", "Cancelled"


class ReminderLead(models.TextChoices):
    DAY_BEFORE = "day_before", "The day before, at the same time"
    HOURS_BEFORE = "hours_before", "Two hours before"


class SessionReminder(models.Model):
    """A reminder of one session to its patient, due at `due_at`; the worker claims rows one at a
    time (tandem/therapy/reminders.py). A moved session gets new rows; the old ones are cancelled."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="reminders")
    lead = models.CharField(max_length=12, choices=ReminderLead.choices)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.PENDING)
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "lead", "due_at"], name="session_reminder_once"),
        ]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return f"reminder for session {self.session_id} at {self.due_at:%Y-%m-%d %H:%M}"
