"""Skills practice between sessions: a clinician assigns a worksheet (a thought record, a diary
card, an activity schedule, an IPT worksheet or one of their own) and the patient fills it in.

An Entry is one filling-in. While the patient types it is a draft, saved as typed (even values
that would be refused on submit, so nothing is lost) with a version number so that an older save
never overwrites a newer one. Its idempotency key is created with the form: saving and submitting
the same form touch the same row, and a second submit of it changes nothing.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tandem.patients.models import Patient


class TemplateKind(models.TextChoices):
    THOUGHT_RECORD = "thought_record", "CBT thought record"
    ACTIVITY_SCHEDULE = "activity_schedule", "Behavioural-activation activity schedule"
    DIARY_CARD = "diary_card", "DBT diary card"
    IPT = "ipt", "IPT interpersonal worksheet"
    WORKSHEET = "worksheet", "Worksheet"


class Frequency(models.TextChoices):
    ONCE = "once", "Once, by a due date"
    DAILY = "daily", "Every day"
    TIMES_PER_WEEK = "times_per_week", "A number of times a week"
    WEEKLY = "weekly", "Once a week"


class Assignment(models.Model):
    """One worksheet given to one patient, with how often it is expected over a period of the
    patient's local days: [start, end] (for ONCE, `end` is the due date)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="practice_assignments")
    template = models.CharField(max_length=20, choices=TemplateKind.choices)
    title = models.CharField(max_length=120)
    prompts = models.JSONField(default=list, blank=True, help_text="a worksheet's own prompts")
    instructions = models.TextField(blank=True)
    frequency = models.CharField(max_length=16, choices=Frequency.choices)
    times_per_week = models.PositiveSmallIntegerField(default=1)
    start = models.DateField()
    end = models.DateField(null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_role = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True, help_text="the patient's local day it was ended")
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    end_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["patient", "ended_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")), name="practice_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(times_per_week__gte=1) & Q(times_per_week__lte=7),
                name="practice_times_per_week_1_7",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} for patient {self.patient_id}"

    @property
    def is_active(self) -> bool:
        return self.ended_at is None

    def last_day(self) -> date | None:
        """The last local day entries are expected: the end, or the day it was ended if earlier."""
        days = [d for d in (self.end, self.ended_on) if d is not None]
        return min(days) if days else None


class EntryStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"


class Entry(models.Model):
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="entries")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="practice_entries")
    status = models.CharField(max_length=10, choices=EntryStatus.choices, default=EntryStatus.DRAFT)
    # Drafts: the form's values exactly as typed. Submitted: the checked, typed answers.
    data = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=0)
    entry_date = models.DateField(help_text="the patient's local day the entry is for")
    idempotency_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    flagged = models.BooleanField(default=False, help_text="a safety rule fired on submit")
    comment = models.TextField(blank=True)
    commented_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    commented_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-entry_date", "-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "idempotency_key"], name="practice_entry_idempotent"),
        ]
        indexes = [
            models.Index(fields=["assignment", "status", "entry_date"]),
            models.Index(fields=["patient", "submitted_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_status_display()} entry {self.pk} of assignment {self.assignment_id}"
