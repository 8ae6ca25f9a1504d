"""Hand-offs (structured tasks between members of one patient's care team) and messages
(per-patient threads, team-only or with the patient, with read receipts).

Nothing here refers to the notes app: a message or a hand-off has no attachment of any kind, so
a psychotherapy note can never be attached to one or reached from one.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tandem.patients.models import Patient
from tandem.plans.models import TreatmentPlan
from tandem.therapy.models import Session


class HandoffKind(models.TextChoices):
    CONSULT_REQUEST = "consult_request", "Consult request"
    MEDICATION_CHANGE = "medication_change", "Medication-change notice"
    SESSION_OBSERVATION = "session_observation", "Session observation for the prescriber"
    PLAN_PROPOSAL = "plan_proposal", "Treatment-plan proposal"
    CASE_REVIEW = "case_review", "Case-review recommendation"


class HandoffStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    DONE = "done", "Done"


class Handoff(models.Model):
    """One hand-off, and the recipient's task it becomes: open → acknowledged → done (with a note).

    `details` holds the kind's own fields (tandem/handoffs/kinds.py says which, and which are
    required); links to a session or a plan are real foreign keys so they cannot point elsewhere.
    """

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=24, choices=HandoffKind.choices)
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sender_role = models.CharField(max_length=32)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recipient_role = models.CharField(max_length=32)
    title = models.CharField(max_length=200)
    details = models.JSONField(default=dict)
    session = models.ForeignKey(Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    plan = models.ForeignKey(
        TreatmentPlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    urgent = models.BooleanField(default=False)
    due_by = models.DateTimeField()
    status = models.CharField(max_length=16, choices=HandoffStatus.choices, default=HandoffStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_note = models.TextField(blank=True)
    source = models.CharField(max_length=100, blank=True, help_text="e.g. the case review it came from")
    idempotency_key = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["due_by", "pk"]
        indexes = [
            models.Index(fields=["recipient", "status", "due_by"]),
            models.Index(fields=["sender", "status"]),
            models.Index(fields=["patient", "-created_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="handoff_idempotent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk} for patient {self.patient_id}"

    def is_overdue(self, now: datetime | None = None) -> bool:
        return self.status != HandoffStatus.DONE and self.due_by < (now or timezone.now())

    @property
    def overdue(self) -> bool:
        return self.is_overdue()


class Audience(models.TextChoices):
    TEAM = "team", "Care team only"
    TEAM_PATIENT = "team_patient", "Care team and the patient"


class Thread(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    audience = models.CharField(max_length=16, choices=Audience.choices)
    subject = models.CharField(max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)
    idempotency_key = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-last_message_at", "-pk"]
        indexes = [models.Index(fields=["patient", "audience", "-last_message_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="thread_idempotent",
            ),
        ]

    def __str__(self) -> str:
        return f"Thread {self.pk} for patient {self.patient_id}"

    @property
    def with_patient(self) -> bool:
        return self.audience == Audience.TEAM_PATIENT


class Message(models.Model):
    """A message: plain text, no attachments. `crisis` records that the patient's words matched
    the crisis list (tandem/handoffs/crisis.py) when it was sent."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    author_role = models.CharField(max_length=32)
    body = models.TextField()
    crisis = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    idempotency_key = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="message_idempotent",
            ),
        ]

    def __str__(self) -> str:
        # Never the body: this string may end up in logs.
        return f"Message {self.pk} in thread {self.thread_id}"


class MessageRead(models.Model):
    """A read receipt: who read a message, and when they first opened it."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["read_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="message_read_once")]

    def __str__(self) -> str:
        return f"Message {self.message_id} read by {self.user_id}"
