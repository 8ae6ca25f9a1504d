"""Session notes.

A **progress note** documents one session for the care team (consent category "therapy
summaries"): modality, interventions, homework, a structured risk assessment and the progress
summary. Its clinician writes a draft, signs it, and from then on it is locked: nothing changes
it, only addenda are appended.

A **psychotherapy note** (HIPAA, 45 CFR 164.501) is the clinician's private note of a session's
conversation. It lives in its own table and is readable and writable by its author alone — not
the team, not administrators, not break-glass, not the patient — through
tandem.notes.access.access_psychotherapy_note. Its foreign keys have no reverse accessors
(related_name="+"), so nothing can reach it from a patient, a user or a session; and only
modules of tandem/notes/ may import it (tandem/notes/tests/test_architecture.py). Exports, FHIR,
reports, search and the timeline therefore never see it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tandem.notes.vocabulary import RiskLevel, SelfHarm, SuicidalIdeation
from tandem.patients.models import Patient
from tandem.therapy.models import Modality, Session


class NoteLocked(PermissionError):
    """A signed progress note, or an addendum, was about to be changed or deleted."""


class NoteStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"


class ProgressNoteQuerySet(models.QuerySet["ProgressNote"]):
    def update(self, **kwargs: Any) -> int:
        if self.filter(status=NoteStatus.SIGNED).exists():
            raise NoteLocked("signed progress notes cannot be changed")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        if self.filter(status=NoteStatus.SIGNED).exists():
            raise NoteLocked("signed progress notes cannot be deleted")
        return super().delete()


class ProgressNote(models.Model):
    session = models.OneToOneField(Session, on_delete=models.PROTECT, related_name="progress_note")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="progress_notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=NoteStatus.choices, default=NoteStatus.DRAFT)
    modality = models.CharField(max_length=12, choices=Modality.choices, blank=True)
    interventions = models.JSONField(default=list, blank=True, help_text="keys of vocabulary.INTERVENTIONS")
    interventions_other = models.CharField(max_length=500, blank=True)
    homework = models.TextField(blank=True)
    suicidal_ideation = models.CharField(max_length=20, choices=SuicidalIdeation.choices, blank=True)
    self_harm = models.CharField(max_length=20, choices=SelfHarm.choices, blank=True)
    risk_level = models.CharField(max_length=10, choices=RiskLevel.choices, blank=True)
    safety_plan_reviewed = models.BooleanField(null=True, blank=True)
    risk_notes = models.TextField(blank=True)
    summary = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)

    objects = ProgressNoteQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["patient", "status", "-signed_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft", signed_at__isnull=True)
                | Q(status="signed", signed_at__isnull=False, signed_by__isnull=False),
                name="progress_note_signed_has_signer",
            ),
        ]

    def __str__(self) -> str:
        return f"Progress note {self.pk} for session {self.session_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The stored row decides, not this instance: a stale copy of a draft cannot overwrite a
        # note that was signed meanwhile.
        if (
            not self._state.adding
            and ProgressNote._base_manager.filter(pk=self.pk, status=NoteStatus.SIGNED).exists()
        ):
            raise NoteLocked("signed progress notes cannot be changed; add an addendum")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        if ProgressNote._base_manager.filter(pk=self.pk, status=NoteStatus.SIGNED).exists():
            raise NoteLocked("signed progress notes cannot be deleted")
        return super().delete(*args, **kwargs)

    @property
    def is_signed(self) -> bool:
        return self.status == NoteStatus.SIGNED

    def summary_first_line(self) -> str:
        return next((line.strip() for line in self.summary.splitlines() if line.strip()), "")


class AppendOnlyQuerySet(models.QuerySet["ProgressNoteAddendum"]):
    def update(self, **kwargs: Any) -> int:
        raise NoteLocked("addenda are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise NoteLocked("addenda are append-only")


class ProgressNoteAddendum(models.Model):
    """Text added to a signed note later; never changed or removed."""

    note = models.ForeignKey(ProgressNote, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    idempotency_key = models.CharField(max_length=64, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["note", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="addendum_unique_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"Addendum {self.pk} to progress note {self.note_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise NoteLocked("addenda are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise NoteLocked("addenda are append-only")


class PsychotherapyNote(models.Model):
    """The author's private note; see the module docstring before using it anywhere."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    idempotency_key = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["author", "patient", "-created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="psychotherapy_note_unique_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        # Never the text: this string may end up in logs or error reports.
        return f"Psychotherapy note {self.pk}"

    def __repr__(self) -> str:
        return f"<PsychotherapyNote {self.pk}>"
