"""The shared treatment plan, its revisions and alignment, and the patient's safety documents.

A plan's content lives in its revisions: each revision is an immutable JSON document (see
schema.py) with author, time and reason, so that diff and restore are exact and nothing is ever
overwritten. `TreatmentPlan.current` points at the newest revision.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tandem.accounts.models import Organisation
from tandem.patients.models import Patient


class Immutable(models.Model):
    """A row that is written once and never changed."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError(f"{type(self).__name__} rows are immutable")
        super().save(*args, **kwargs)


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    DISCONTINUED = "discontinued", "Discontinued"


class TreatmentPlan(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="plans")
    status = models.CharField(max_length=20, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    title = models.CharField(max_length=200, default="Treatment plan")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    end_reason = models.CharField(max_length=300, blank=True)
    current = models.ForeignKey(
        "PlanRevision", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revision_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"], condition=Q(status="active"), name="plan_one_active_per_patient"
            ),
            models.UniqueConstraint(
                fields=["patient"], condition=Q(status="draft"), name="plan_one_draft_per_patient"
            ),
        ]
        indexes = [models.Index(fields=["patient", "status"])]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_status_display()}) for patient {self.patient_id}"

    @property
    def is_open(self) -> bool:
        return self.status in (PlanStatus.DRAFT, PlanStatus.ACTIVE)


class PlanRevision(Immutable):
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_role = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=500)
    content = models.JSONField()
    changed_sections = models.JSONField(default=list)
    section_authors = models.JSONField(default=dict, help_text="section → user id of its last author")
    restored_from = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="plan_revision_number_unique")]

    def __str__(self) -> str:
        return f"revision {self.number} of plan {self.plan_id}"


class PlanAcknowledgement(models.Model):
    revision = models.ForeignKey(PlanRevision, on_delete=models.CASCADE, related_name="acknowledgements")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    acknowledged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["revision", "user"], name="plan_ack_once")]
        indexes = [models.Index(fields=["user", "revision"])]

    def __str__(self) -> str:
        return f"{self.user_id} acknowledged {self.revision_id}"


class PlanComment(models.Model):
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="comments")
    revision = models.ForeignKey(PlanRevision, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    section = models.CharField(max_length=40, blank=True)
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"comment on plan {self.plan_id}"


class ProposalStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"


class PlanProposal(models.Model):
    """A proposed change to one section, for the author of that section to accept or decline."""

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="proposals")
    base_revision = models.ForeignKey(PlanRevision, on_delete=models.CASCADE, related_name="+")
    section = models.CharField(max_length=40)
    content = models.JSONField(help_text="the proposed content of the section")
    reason = models.CharField(max_length=500)
    proposer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=20, choices=ProposalStatus.choices, default=ProposalStatus.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    resulting_revision = models.ForeignKey(
        PlanRevision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["plan", "status"])]

    def __str__(self) -> str:
        return f"proposal for {self.section} of plan {self.plan_id}"


class PatientAgreement(models.Model):
    """The patient marked "I agree" to one revision of their plan."""

    revision = models.ForeignKey(PlanRevision, on_delete=models.CASCADE, related_name="agreements")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    agreed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["revision", "patient"], name="plan_agreement_once")]

    def __str__(self) -> str:
        return f"patient {self.patient_id} agreed to {self.revision_id}"


class PlanQuestion(models.Model):
    """A question the patient asked about their plan; it reaches the team."""

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="questions")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"question on plan {self.plan_id}"


class DocumentKind(models.TextChoices):
    SAFETY = "safety", "Safety plan"
    RELAPSE = "relapse", "Relapse-prevention plan"


class SafetyDocument(models.Model):
    """The patient's safety plan (Stanley–Brown) or relapse-prevention plan, versioned."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="safety_documents")
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    current = models.ForeignKey(
        "SafetyRevision", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revision_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "kind"], name="safety_document_one_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of patient {self.patient_id}"


class SafetyRevision(Immutable):
    document = models.ForeignKey(SafetyDocument, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_role = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=500, blank=True)
    content = models.JSONField()

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="safety_revision_number_unique")
        ]

    def __str__(self) -> str:
        return f"revision {self.number} of {self.document_id}"


class EducationKind(models.TextChoices):
    MODALITY = "modality", "Therapy modality"
    MEDICATION_CLASS = "medication_class", "Medication class"
    GENERAL = "general", "General"


class EducationTopic(models.Model):
    """An organisation's own version of a patient-education text (Markdown). Without one, the
    built-in text shipped in plans/education/ is shown."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="education_topics")
    kind = models.CharField(max_length=30, choices=EducationKind.choices)
    key = models.SlugField(max_length=60)
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "kind", "key"], name="education_topic_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.key} for {self.organisation_id}"
