"""The patient's secret calendar address (imported by tandem.medications.models)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tandem.patients.models import Patient


class CalendarFeed(models.Model):
    """A secret, revocable calendar URL of one patient: the token in it is the only credential,
    so only its SHA-256 is kept and the URL is shown once. A new link revokes the old one (a
    patient has at most one live feed); a revoked or unknown token answers 404."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="calendar_feeds")
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="the token's first characters, to recognise a link")
    show_names = models.BooleanField(
        default=False, help_text="put medication names in event titles (off: 'Medication reminder')"
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient"], condition=Q(revoked_at__isnull=True), name="calendarfeed_one_live"
            )
        ]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "live"
        return f"calendar feed {self.prefix}… of patient {self.patient_id} ({state})"
