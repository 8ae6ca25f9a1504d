"""An administered instrument: what was answered, how it scored, who gave it and from where."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tandem.patients.models import Patient


class AdministeredBy(models.TextChoices):
    PATIENT = "patient", "The patient"
    CLINICIAN = "clinician", "A clinician, in session"
    EXTERNAL = "external", "An external system"


class Source(models.TextChoices):
    PORTAL = "portal", "Portal"
    CLINICIAN = "clinician", "Clinician"
    FHIR = "fhir", "FHIR"


class InstrumentResponse(models.Model):
    """One administration of one instrument, stored once per idempotency key.

    `answers` keeps each answer as given (code, system, display, value or text); `item_values`
    the values scored. An incomplete form is kept with `scored` false and an empty total and band.
    """

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="instrument_responses")
    instrument = models.CharField(max_length=40)
    version = models.CharField(max_length=20)
    answers = models.JSONField(default=dict)
    item_values = models.JSONField(default=dict)
    scored = models.BooleanField()
    missing = models.JSONField(default=list, help_text="linkIds of required questions left unanswered")
    total = models.SmallIntegerField(null=True, blank=True)
    band = models.CharField(max_length=40, blank=True)
    band_label = models.CharField(max_length=200, blank=True)
    subscores = models.JSONField(default=dict)
    flags = models.JSONField(default=dict)
    item9 = models.SmallIntegerField(null=True, blank=True, help_text="PHQ-9 item 9, when answered")
    safety_triggered = models.BooleanField(default=False)
    safety_reasons = models.JSONField(default=list)
    administered_by = models.CharField(max_length=12, choices=AdministeredBy.choices)
    source = models.CharField(max_length=12, choices=Source.choices)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    authored_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    idempotency_key = models.CharField(max_length=200)
    fhir_identifier = models.CharField(max_length=300, blank=True)
    raw_resource = models.JSONField(null=True, blank=True, help_text="the QuestionnaireResponse as received")

    class Meta:
        ordering = ["-authored_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "idempotency_key"], name="measures_response_idempotent"
            ),
            models.CheckConstraint(
                condition=Q(scored=True) | (Q(total__isnull=True) & Q(band="")),
                name="measures_unscored_has_no_score",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "instrument", "-authored_at"], name="measures_patient_instr"),
            models.Index(fields=["patient", "safety_triggered"], name="measures_patient_safety"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} of patient {self.patient_id} at {self.authored_at:%Y-%m-%d}"


class TreatmentSignal(models.Model):
    """The latest treat-to-target assessment of one patient on one instrument (PHQ-9, GAD-7):
    recomputed after each scored response and by the population job (tandem/measures/signals).
    A read model — derived entirely from responses, regimens, fills, dose logs and sessions — so
    it is rewritten in place and not audited; the alerts it raises are."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="treatment_signals")
    instrument = models.CharField(max_length=40)
    state = models.CharField(max_length=30)
    baseline_total = models.SmallIntegerField(null=True, blank=True)
    baseline_at = models.DateTimeField(null=True, blank=True)
    latest_total = models.SmallIntegerField(null=True, blank=True)
    latest_at = models.DateTimeField(null=True, blank=True)
    improvement_percent = models.SmallIntegerField(null=True, blank=True)
    days = models.IntegerField(null=True, blank=True, help_text="days in treatment at the latest score")
    adequacy = models.CharField(
        max_length=20, blank=True, help_text="adequate, inadequate, unknown, no_treatment"
    )
    reasons = models.JSONField(default=dict, help_text="every rule's finding, the adequacy parts, sources")
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "instrument"], name="measures_signal_one_per_instrument"
            )
        ]
        indexes = [models.Index(fields=["state", "instrument"], name="measures_signal_state")]

    def __str__(self) -> str:
        return f"{self.instrument} {self.state} for patient {self.patient_id}"

    @property
    def label(self) -> str:
        from tandem.measures.signals.rules import STATE_LABELS

        return STATE_LABELS.get(self.state, self.state)


class ReminderKind(models.TextChoices):
    FIRST = "first", "When it becomes due"
    FOLLOW_UP = "follow_up", "Three days later, still unanswered"


class ReminderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    CANCELLED = "cancelled", "Cancelled"


class QuestionnaireReminder(models.Model):
    """A reminder to the patient that a questionnaire is due, sent at `due_at`; the worker claims
    rows one at a time (tandem/measures/reminders.py).

    `episode` names one stretch of "this instrument is due and unanswered": the instant of its last
    scored administration (UTC, ISO 8601) or "first". An episode has at most one reminder of each
    kind, which is what keeps the reminders from nagging."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    instrument = models.CharField(max_length=40)
    episode = models.CharField(max_length=40)
    kind = models.CharField(max_length=10, choices=ReminderKind.choices)
    due_on = models.DateField(help_text="the patient's local date the instrument became due")
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.PENDING)
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    emailed = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "instrument", "episode", "kind"], name="measures_reminder_once"
            )
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="measures_reminder_due")]

    def __str__(self) -> str:
        return f"{self.kind} reminder of {self.instrument} for patient {self.patient_id} at {self.due_at:%Y-%m-%d %H:%M}"


class QuestionnaireReminderPreference(models.Model):
    """The patient's choice about questionnaire reminders. Without a row, e-mails are on; the
    in-app notification is always made (it is only seen after signing in)."""

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="+")
    email = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"questionnaire e-mails {'on' if self.email else 'off'} for patient {self.patient_id}"
