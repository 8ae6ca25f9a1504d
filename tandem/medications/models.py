"""Medications: regimens and every change to them, doses taken, fills, side effects, labs.

A regimen is one drug for one patient; what is prescribed (dose, times, route) lives in its
versions. Every change — start, increase, decrease, switch, hold, resume, stop — is a new version
with its reason, author, the prescribing checks shown and any override reason. The dose schedule
of any moment is read from the version in force then, so a change applies from that moment on.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tandem.accounts.models import Organisation
from tandem.patients.models import Patient


class OrgDrug(models.Model):
    """A drug an organisation added to the catalog (free-text entries need no row)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="drugs")
    name = models.CharField(max_length=120)
    classes = models.JSONField(default=list)
    rxnorm = models.CharField(max_length=20, blank=True)
    dose_min_mg = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    dose_max_mg = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    serotonergic = models.BooleanField(default=False)
    antidepressant = models.BooleanField(default=False)
    monitoring = models.JSONField(default=list)
    source = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="orgdrug_unique_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def key(self) -> str:
        return f"org:{self.pk}"


class RegimenStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    HELD = "held", "On hold"
    STOPPED = "stopped", "Stopped"


class ChangeKind(models.TextChoices):
    START = "start", "Start"
    INCREASE = "increase", "Increase"
    DECREASE = "decrease", "Decrease"
    SWITCH = "switch", "Switch"
    CHANGE = "change", "Change (times or route)"
    HOLD = "hold", "Hold"
    RESUME = "resume", "Resume"
    STOP = "stop", "Stop"


class ScheduleKind(models.TextChoices):
    SCHEDULED = "scheduled", "At set times"
    AS_NEEDED = "prn", "As needed"


class Regimen(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="regimens")
    drug_key = models.CharField(max_length=160, help_text="catalog key, org:<id> or free:<text>")
    drug_name = models.CharField(max_length=160)
    drug_classes = models.JSONField(default=list)
    indication = models.CharField(max_length=200, blank=True)
    prescriber = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=RegimenStatus.choices, default=RegimenStatus.ACTIVE)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    current = models.ForeignKey(
        "RegimenVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    version_count = models.PositiveIntegerField(default=0)
    switched_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["status", "drug_name"]
        indexes = [models.Index(fields=["patient", "status"])]

    def __str__(self) -> str:
        return f"{self.drug_name} for patient {self.patient_id}"


class RegimenVersion(models.Model):
    """What is prescribed from `effective_at` on, and why it changed. Written once."""

    regimen = models.ForeignKey(Regimen, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=ChangeKind.choices)
    effective_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=RegimenStatus.choices)
    dose_amount = models.DecimalField(
        max_digits=9, decimal_places=3, validators=[MinValueValidator(Decimal("0"))]
    )
    dose_unit = models.CharField(max_length=12, default="mg")
    route = models.CharField(max_length=20, default="oral")
    schedule_kind = models.CharField(
        max_length=10, choices=ScheduleKind.choices, default=ScheduleKind.SCHEDULED
    )
    times = models.JSONField(default=list, help_text='local times of day, e.g. ["08:00", "20:00"]')
    every_days = models.PositiveSmallIntegerField(default=1, help_text="1 = daily, 2 = every other day")
    prn_max_per_day = models.PositiveSmallIntegerField(null=True, blank=True)
    instructions = models.CharField(max_length=300, blank=True)
    reason = models.CharField(max_length=500)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_role = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    findings = models.JSONField(default=list, help_text="the prescribing checks shown before saving")
    override_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["regimen", "number"]
        constraints = [
            models.UniqueConstraint(fields=["regimen", "number"], name="regimen_version_number_unique")
        ]
        indexes = [models.Index(fields=["regimen", "effective_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of regimen {self.regimen_id} (v{self.number})"

    @property
    def daily_amount(self) -> Decimal:
        """Scheduled amount per day (0 for as-needed or not active)."""
        if self.status != RegimenStatus.ACTIVE or self.schedule_kind != ScheduleKind.SCHEDULED:
            return Decimal(0)
        per_day = self.dose_amount * len(self.times)
        return per_day / self.every_days


class DoseStatus(models.TextChoices):
    TAKEN = "taken", "Taken"
    TAKEN_LATE = "taken_late", "Taken at another time"
    SKIPPED = "skipped", "Skipped"
    AS_NEEDED = "prn", "Taken as needed"


class DoseLog(models.Model):
    """One dose the patient (or someone for them) recorded. `due_at` names the scheduled dose;
    as-needed doses have none. The idempotency key makes retries and double taps harmless."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="dose_logs")
    regimen = models.ForeignKey(Regimen, on_delete=models.CASCADE, related_name="dose_logs")
    due_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=DoseStatus.choices)
    taken_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    logged_at = models.DateTimeField(default=timezone.now)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(max_length=64)

    class Meta:
        ordering = ["-due_at", "-logged_at"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "idempotency_key"], name="doselog_idempotent"),
            models.UniqueConstraint(
                fields=["regimen", "due_at"],
                condition=Q(due_at__isnull=False),
                name="doselog_one_per_scheduled_dose",
            ),
        ]
        indexes = [models.Index(fields=["patient", "due_at"]), models.Index(fields=["regimen", "taken_at"])]

    def __str__(self) -> str:
        return f"{self.get_status_display()} dose of regimen {self.regimen_id}"


class ReminderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    CANCELLED = "cancelled", "Cancelled"


class DoseReminder(models.Model):
    """A reminder due at a dose time; the worker claims rows one at a time."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    regimen = models.ForeignKey(Regimen, on_delete=models.CASCADE, related_name="reminders")
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.PENDING)
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["regimen", "due_at"], name="reminder_once_per_dose")]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return f"reminder for regimen {self.regimen_id} at {self.due_at:%Y-%m-%d %H:%M}"


class FillSource(models.TextChoices):
    STAFF = "staff", "Entered by staff"
    PATIENT = "patient", "Reported by the patient"
    IMPORT = "import", "Imported"


class Fill(models.Model):
    """A pharmacy fill (dispense), the input of refill-based adherence (PDC)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="fills")
    regimen = models.ForeignKey(
        Regimen, null=True, blank=True, on_delete=models.SET_NULL, related_name="fills"
    )
    drug_key = models.CharField(max_length=160)
    drug_name = models.CharField(max_length=160)
    drug_class = models.CharField(max_length=40, blank=True)
    fill_date = models.DateField()
    days_supply = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(365)])
    quantity = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    source = models.CharField(max_length=10, choices=FillSource.choices)
    external_id = models.CharField(max_length=100, blank=True, help_text="the sender's id, for imports")
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-fill_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "external_id"], condition=~Q(external_id=""), name="fill_import_once"
            ),
        ]
        indexes = [models.Index(fields=["patient", "fill_date"])]

    def __str__(self) -> str:
        return f"{self.drug_name} filled {self.fill_date} ({self.days_supply} days)"


class SideEffectResponse(models.TextChoices):
    CONTINUE = "continue", "Continue as prescribed"
    ADJUST = "adjust", "Adjust the dose"
    STOP = "stop", "Stop the medication"
    SEE = "see", "See the patient"


class SideEffectReport(models.Model):
    """What the patient reported (FIBSER and a checklist), its triage, and the prescriber's response."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="side_effects")
    regimen = models.ForeignKey(
        Regimen, null=True, blank=True, on_delete=models.SET_NULL, related_name="side_effects"
    )
    frequency = models.PositiveSmallIntegerField(validators=[MaxValueValidator(6)])
    intensity = models.PositiveSmallIntegerField(validators=[MaxValueValidator(6)])
    burden = models.PositiveSmallIntegerField(validators=[MaxValueValidator(6)])
    symptoms = models.JSONField(default=list)
    text = models.TextField(blank=True)
    severity = models.CharField(max_length=10)
    triage = models.JSONField(default=list, help_text="the triage rules that fired, with their sources")
    reported_at = models.DateTimeField(default=timezone.now)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(max_length=64)
    response = models.CharField(max_length=10, choices=SideEffectResponse.choices, blank=True)
    response_note = models.TextField(blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-reported_at"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "idempotency_key"], name="sideeffect_idempotent")
        ]

    def __str__(self) -> str:
        return f"side-effect report {self.pk} of patient {self.patient_id}"


class LabResult(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="labs")
    kind = models.CharField(max_length=40)
    value = models.DecimalField(max_digits=10, decimal_places=3)
    unit = models.CharField(max_length=20)
    observed_at = models.DateTimeField()
    flag = models.CharField(max_length=10, blank=True)
    source = models.CharField(max_length=10, choices=FillSource.choices, default=FillSource.STAFF)
    external_id = models.CharField(max_length=100, blank=True)
    note = models.CharField(max_length=300, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-observed_at"]
        indexes = [models.Index(fields=["patient", "kind", "observed_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.value} {self.unit}"


class MonitoringDue(models.Model):
    """A lab or measurement due because of a regimen (e.g. a lithium level 5 days after a change)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="monitoring")
    regimen = models.ForeignKey(
        Regimen, null=True, blank=True, on_delete=models.CASCADE, related_name="monitoring"
    )
    kind = models.CharField(max_length=40)
    due_date = models.DateField()
    reason = models.CharField(max_length=300)
    rule_id = models.CharField(max_length=80)
    source = models.CharField(max_length=500, blank=True)
    satisfied_by = models.ForeignKey(
        LabResult, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "regimen", "kind", "due_date"], name="monitoring_due_once"
            ),
        ]
        indexes = [models.Index(fields=["patient", "due_date"])]

    def __str__(self) -> str:
        return f"{self.kind} due {self.due_date} for patient {self.patient_id}"


from tandem.medications.feed_models import CalendarFeed  # noqa: E402,F401
