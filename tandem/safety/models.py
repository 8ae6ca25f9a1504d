"""The safety workflow's records: a flag on the patient while suicide risk is being assessed, the
submissions that raised it, the risk-assessment task and the documented assessment, and each
organisation's crisis resources."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tandem.accounts.models import Organisation
from tandem.measures.models import InstrumentResponse
from tandem.patients.models import Patient


class FlagStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class SafetyFlag(models.Model):
    """Open from the first positive safety screen until a documented risk assessment resolves it.
    One open flag per patient: a further positive screen while it is open adds a trigger."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="safety_flags")
    status = models.CharField(max_length=10, choices=FlagStatus.choices, default=FlagStatus.OPEN)
    opened_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_by_assessment = models.ForeignKey(
        "RiskAssessment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"], condition=Q(status="open"), name="safety_one_open_flag_per_patient"
            ),
        ]
        indexes = [models.Index(fields=["patient", "status"])]

    def __str__(self) -> str:
        return f"{self.get_status_display()} safety flag of patient {self.patient_id}"


class SafetyTrigger(models.Model):
    """One submission that met the safety rule: which response, which rules, why, from where."""

    flag = models.ForeignKey(SafetyFlag, on_delete=models.CASCADE, related_name="triggers")
    response = models.OneToOneField(
        InstrumentResponse, on_delete=models.PROTECT, related_name="safety_trigger"
    )
    instrument = models.CharField(max_length=40)
    rule_ids = models.JSONField(default=list)
    reasons = models.JSONField(default=list)
    source = models.CharField(max_length=12, help_text="portal, clinician or fhir")
    at = models.DateTimeField(default=timezone.now)
    alert = models.ForeignKey(
        "collab.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{', '.join(self.rule_ids)} on response {self.response_id}"


class TaskStatus(models.TextChoices):
    OPEN = "open", "To do"
    DONE = "done", "Done"


class AssessmentTask(models.Model):
    """A clinician is to document a C-SSRS-based suicide risk assessment for an open flag
    (clinical-facts.md §C: same-encounter assessment after any non-zero PHQ-9 item 9)."""

    flag = models.OneToOneField(SafetyFlag, on_delete=models.CASCADE, related_name="task")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["status", "patient"])]

    def __str__(self) -> str:
        return f"Risk assessment for patient {self.patient_id} ({self.get_status_display()})"


class RiskLevel(models.TextChoices):
    LOW = "low", "Low"
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"


class RiskAssessment(models.Model):
    """A clinician's suicide risk assessment (SNOMED 225337009), C-SSRS-based: the screener
    answers by LOINC item (yes/no, no wording stored), the risk level the clinician judged
    (LOINC 93374-7 "Suicide risk level"), actions taken, and whether it resolves the flag."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="risk_assessments")
    flag = models.ForeignKey(
        SafetyFlag, null=True, blank=True, on_delete=models.SET_NULL, related_name="assessments"
    )
    assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assessed_role = models.CharField(max_length=40)
    assessed_at = models.DateTimeField(default=timezone.now)
    cssrs = models.JSONField(default=dict, help_text="{LOINC item: 'yes' | 'no'} of the screener")
    suggested_level = models.CharField(max_length=10, blank=True, help_text="from the C-SSRS answers")
    risk_level = models.CharField(max_length=10, choices=RiskLevel.choices)
    actions = models.JSONField(default=list, help_text="keys of tandem.safety.assessment.ACTIONS")
    rationale = models.TextField()
    resolves_flag = models.BooleanField(default=False)
    idempotency_key = models.CharField(max_length=64)

    class Meta:
        ordering = ["-assessed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "idempotency_key"], name="safety_assessment_idempotent"
            ),
        ]

    def __str__(self) -> str:
        return f"Risk assessment of patient {self.patient_id} ({self.risk_level})"


class CrisisSettings(models.Model):
    """An organisation's crisis resources: its country (which sets the default lines, see
    tandem/safety/crisis.py) and lines of its own shown first (e.g. a local crisis team)."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="crisis_settings"
    )
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 code: US, GB, AU…")
    own_lines = models.JSONField(
        default=list, blank=True, help_text='[{"name": …, "number": …, "how": "call or text"}]'
    )
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Crisis resources of {self.organisation}"
