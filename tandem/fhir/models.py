"""Bulk Data exports (FHIR Bulk Data Access, `$export`): one row per kick-off, owned by the
token's user, run by the worker, its NDJSON files under settings.VAR_DIR / "exports" / <id>."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone

# How long the files of a finished export are kept for their owner to fetch.
KEEP_FOR = timedelta(hours=24)


class ExportStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ExportLevel(models.TextChoices):
    SYSTEM = "system"
    PATIENT = "patient"
    GROUP = "group"


class ExportJob(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # The token that asked: the files are served to it alone (requiresAccessToken).
    token = models.ForeignKey("accounts.ApiToken", on_delete=models.CASCADE, related_name="+")
    level = models.CharField(max_length=16, choices=ExportLevel.choices)
    group_id = models.CharField(max_length=64, blank=True)
    types = models.JSONField(default=list)  # the resource types to export, in order
    since = models.DateTimeField(null=True, blank=True)
    request_url = models.CharField(max_length=2000)
    output_format = models.CharField(max_length=40, default="application/fhir+ndjson")
    status = models.CharField(max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    progress = models.CharField(max_length=200, blank=True)
    # [{"type": ..., "file": ..., "count": ...}] once completed
    output = models.JSONField(default=list)
    error = models.TextField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Moved on while the worker writes: a run whose heartbeat stopped is taken up again.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    transaction_time = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "heartbeat_at"]),
            models.Index(fields=["expires_at"]),
        ]

    def __str__(self) -> str:
        return f"$export {self.pk} ({self.status})"

    @property
    def directory(self) -> Path:
        return Path(settings.VAR_DIR) / "exports" / str(self.pk)
