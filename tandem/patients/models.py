from __future__ import annotations

import zoneinfo
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tandem.accounts.models import Organisation, Role


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            "%(value)s is not a known time zone; use an IANA name such as America/Chicago.",
            params={"value": value},
        ) from None


class Patient(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("MRN", max_length=40, help_text="Medical record number in the owning organisation")
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField()
    time_zone = models.CharField(max_length=64, default="America/New_York", validators=[validate_time_zone])
    preferred_language = models.CharField(max_length=35, default="en", help_text="BCP 47 tag, e.g. en, es")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    address = models.CharField(max_length=300, blank=True)
    emergency_contact_name = models.CharField(max_length=200, blank=True)
    emergency_contact_phone = models.CharField(max_length=40, blank=True)
    emergency_contact_relationship = models.CharField(max_length=60, blank=True)
    portal_user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="patient"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "mrn"], name="patient_unique_mrn"),
        ]
        indexes = [
            models.Index(fields=["organisation", "family_name", "given_name"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        first = self.preferred_name or self.given_name
        return f"{first} {self.family_name}"

    @property
    def sort_name(self) -> str:
        return f"{self.family_name}, {self.given_name}"

    def age_on(self, day: date) -> int:
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


# The identity and contact fields that people edit, in the order forms show them.
PATIENT_FIELDS = (
    "given_name",
    "family_name",
    "preferred_name",
    "mrn",
    "date_of_birth",
    "time_zone",
    "preferred_language",
    "email",
    "phone",
    "address",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relationship",
)


def active_on(day: date, *, start: str = "start", end: str = "end") -> Q:
    return Q(**{f"{start}__lte": day}) & (Q(**{f"{end}__isnull": True}) | Q(**{f"{end}__gte": day}))


class CareTeamMember(models.Model):
    """A clinician on a patient's care team, for a period. A team may span organisations."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="care_team")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="care_teams")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=32, choices=[c for c in Role.choices if c[0] != Role.ORG_ADMIN])
    start = models.DateField(default=timezone.localdate)
    end = models.DateField(null=True, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["role", "start"]
        indexes = [
            models.Index(fields=["user", "end"]),
            models.Index(fields=["patient", "end"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")), name="careteam_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) for {self.patient}"

    def is_active_on(self, day: date) -> bool:
        return self.start <= day and (self.end is None or self.end >= day)


class Category(models.TextChoices):
    """What a consent can share. Psychotherapy notes are not a category: they are never shared."""

    PLAN = "plan", "Treatment plan"
    MEDICATIONS = "medications", "Medications"
    MEASURES = "measures", "Measures and scores"
    THERAPY_SUMMARIES = "therapy_summaries", "Therapy summaries"
    MESSAGES = "messages", "Messages"


ALL_CATEGORIES = frozenset(Category.values)


class Consent(models.Model):
    """The patient lets a clinician or an organisation outside the owning organisation see
    chosen categories of their record, for a period, until revoked."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consents")
    grantee_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consents_received",
    )
    grantee_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="consents_received"
    )
    categories = models.JSONField(default=list)
    purpose = models.CharField(max_length=300, blank=True)
    start = models.DateField(default=timezone.localdate)
    end = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revocation_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-start", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(grantee_user__isnull=False) | Q(grantee_organisation__isnull=False),
                name="consent_has_grantee",
            ),
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")), name="consent_end_after_start"
            ),
        ]
        indexes = [
            models.Index(fields=["grantee_user", "revoked_at"]),
            models.Index(fields=["grantee_organisation", "revoked_at"]),
        ]

    def __str__(self) -> str:
        return f"Consent {self.pk} for {self.patient}"

    @property
    def grantee_label(self) -> str:
        return str(self.grantee_user or self.grantee_organisation)

    def is_active_on(self, day: date) -> bool:
        return self.revoked_at is None and self.start <= day and (self.end is None or self.end >= day)

    def category_labels(self) -> list[str]:
        return [Category(c).label for c in self.categories if c in ALL_CATEGORIES]


class BreakGlass(models.Model):
    """Emergency access by a clinician of the owning organisation, with a written reason."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="break_glass")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="break_glass")
    reason = models.TextField()
    started_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["user", "expires_at"])]

    def __str__(self) -> str:
        return f"break-glass by {self.user_id} on patient {self.patient_id}"
