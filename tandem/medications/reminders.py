"""Dose reminders: due rows in the database, claimed one at a time, sent once.

- `plan_reminders(now)` writes a DoseReminder row for every scheduled dose of the coming day of
  every patient with a portal account (bulk, conflicts ignored: running it twice, or in two
  workers at once, changes nothing) and cancels pending rows whose dose is gone (the regimen was
  changed, held or stopped, or the dose was recorded early).
- `claim_one(worker_id, now)` takes ONE due row with a conditional UPDATE, so that two workers
  never take the same row; a claim older than CLAIM_TIMEOUT (the worker died) can be taken again.
- `send(reminder)` re-checks the dose and notifies the patient in the app and by e-mail.
- `deliver_due(worker_id, now, limit)` claims and sends until nothing is due.

Sent once (the claim, the lease and the marks are tandem.core.claims): every change of a row's
status is an UPDATE … WHERE status = 'pending', made in the same transaction as the notification,
under a lock of the patient's row; a transaction whose UPDATE changes no row notifies nobody. A
patient with several medications at 08:00 gets one reminder for 08:00, not one per medication. The
e-mail is queued when that transaction commits (tandem.accounts.actions.do_notify): a crash between
the commit and the queueing loses that e-mail (the in-app notification stays) rather than ever
sending it twice.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.actions import do_notify
from tandem.audit.actions import record_audit
from tandem.audit.models import Action
from tandem.core import jobs
from tandem.core.claims import CANCELLED, LOST, SENT, UNCLAIMED, Claims, holds, lock_own_rows
from tandem.lib.timezones import local_date
from tandem.medications.models import DoseLog, DoseReminder, Regimen, RegimenVersion, ReminderStatus
from tandem.medications.queries import patient_due_doses, spans
from tandem.medications.schedule import due_doses
from tandem.patients.models import Patient

logger = logging.getLogger(__name__)

PLAN_HORIZON = timedelta(hours=24)
# A claim older than this belongs to a worker that died: another worker may take the row.
CLAIM_TIMEOUT = timedelta(minutes=5)
# A reminder this late (the worker was down) is cancelled, not sent: it would only confuse.
SEND_WINDOW = timedelta(hours=1)
PLAN_BATCH = 500

EMAIL_SUBJECT = "Medication reminder"

REMINDERS = Claims(DoseReminder, Q(status=ReminderStatus.PENDING), lease=CLAIM_TIMEOUT, window=SEND_WINDOW)


def reminder_text(local_time: datetime) -> str:
    """The words of every reminder: no drug, no name, nothing a lock screen should not show."""
    return (
        f"It's time for your {local_time.hour}:{local_time.minute:02d} medication. Open Tandem to record it."
    )


# --------------------------------------------------------------------------------------------
# Planning


@dataclass
class PlanResult:
    patients: int = 0
    created: int = 0
    cancelled: int = 0
    revived: int = 0
    expired: int = 0
    skipped: list[int] = field(default_factory=list)  # patients whose schedule could not be read


def plan_reminders(
    now: datetime, horizon: timedelta = PLAN_HORIZON, *, batch_size: int = PLAN_BATCH
) -> PlanResult:
    """Make the reminder rows of every dose due from SEND_WINDOW ago to `now + horizon`, and
    cancel pending rows in that window whose dose no longer exists. Idempotent.

    Patients are read in batches by id, with a fixed number of queries per batch (patients,
    regimens, versions, dose logs, reminders, and up to three writes). The schedule is computed
    by the same functions as `patient_due_doses`, over the whole batch at once.
    """
    result = PlanResult()
    start, end = now - SEND_WINDOW, now + horizon
    result.expired = DoseReminder.objects.filter(status=ReminderStatus.PENDING, due_at__lt=start).update(
        status=ReminderStatus.CANCELLED
    )
    # Patients who may get reminders, and those with pending ones (which may have to be cancelled).
    live = Regimen.objects.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start), patient=OuterRef("pk"))
    pending = DoseReminder.objects.filter(
        status=ReminderStatus.PENDING, due_at__gte=start, patient=OuterRef("pk")
    )
    candidates = Patient.objects.filter(
        Q(Exists(live), is_active=True, portal_user__isnull=False, portal_user__is_active=True)
        | Q(Exists(pending))
    )
    last_pk = 0
    while not jobs.stop_requested():
        batch = list(
            candidates.filter(pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", "time_zone", "is_active", "portal_user_id", "portal_user__is_active")[
                :batch_size
            ]
        )
        if not batch:
            break
        last_pk = batch[-1][0]
        eligible = {
            pk: tz for pk, tz, active, user_id, user_active in batch if active and user_id and user_active
        }
        _plan_batch([row[0] for row in batch], eligible, now, start, end, result)
        result.patients += len(batch)
    return result


def _plan_batch(
    patient_ids: list[int],
    eligible: dict[int, str],
    now: datetime,
    start: datetime,
    end: datetime,
    result: PlanResult,
) -> None:
    regimens = Regimen.objects.filter(patient_id__in=eligible).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=start)
    )
    started: dict[int, dict[int, datetime]] = defaultdict(dict)  # patient -> regimen -> started_at
    patient_of: dict[int, int] = {}
    for pk, patient_id, started_at in regimens.values_list("pk", "patient_id", "started_at"):
        started[patient_id][pk] = started_at
        patient_of[pk] = patient_id
    versions_by_patient: dict[int, list[RegimenVersion]] = defaultdict(list)
    version_rows = RegimenVersion.objects.filter(regimen_id__in=patient_of).only(
        "regimen_id", "effective_at", "status", "schedule_kind", "times", "every_days"
    )
    for version in version_rows.order_by("regimen_id", "effective_at"):
        versions_by_patient[patient_of[version.regimen_id]].append(version)
    wanted: dict[tuple[int, datetime], int] = {}  # (regimen, due_at) -> patient
    unreadable: set[int] = set()
    for patient_id, tz in eligible.items():
        versions = versions_by_patient.get(patient_id)
        if not versions:
            continue
        try:
            anchors = {pk: local_date(at, tz) for pk, at in started[patient_id].items()}
            doses = due_doses(spans(versions, tz, anchors), tz, local_date(start, tz), local_date(end, tz))
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            # A bad time zone or time of day in one record must not stop everybody's reminders;
            # that patient's rows are left as they are.
            logger.warning("dose reminders: the schedule of patient %s could not be read", patient_id)
            unreadable.add(patient_id)
            result.skipped.append(patient_id)
            continue
        for dose in doses:
            if start <= dose.due_at <= end:
                wanted[(dose.regimen_id, dose.due_at)] = patient_id
    logged = DoseLog.objects.filter(patient_id__in=eligible, due_at__gte=start, due_at__lte=end)
    for regimen_id, logged_due in logged.values_list("regimen_id", "due_at"):
        if logged_due is not None:
            wanted.pop((regimen_id, logged_due), None)
    existing = {
        (regimen_id, due_at): (pk, status)
        for pk, regimen_id, due_at, status, patient_id in DoseReminder.objects.filter(
            patient_id__in=patient_ids, due_at__gte=start, due_at__lte=end
        ).values_list("pk", "regimen_id", "due_at", "status", "patient_id")
        if patient_id not in unreadable
    }
    gone = [
        pk for key, (pk, status) in existing.items() if status == ReminderStatus.PENDING and key not in wanted
    ]
    # A dose that is back (a hold was lifted, a change undone) before it is due gets its reminder back.
    back = [
        pk
        for key, (pk, status) in existing.items()
        if status == ReminderStatus.CANCELLED and key in wanted and key[1] > now
    ]
    new = [
        DoseReminder(patient_id=patient_id, regimen_id=regimen_id, due_at=due_at)
        for (regimen_id, due_at), patient_id in wanted.items()
        if (regimen_id, due_at) not in existing
    ]
    # Reads above, writes here: the write transaction stays short (SQLite has one writer). A dose
    # recorded or a regimen changed in between is caught again when the reminder is sent.
    with transaction.atomic():
        if gone:
            result.cancelled += REMINDERS.mark(gone, status=ReminderStatus.CANCELLED)
        if back:
            result.revived += DoseReminder.objects.filter(
                pk__in=back, status=ReminderStatus.CANCELLED
            ).update(status=ReminderStatus.PENDING, **UNCLAIMED)
        if new:
            created = DoseReminder.objects.bulk_create(new, ignore_conflicts=True)
            result.created += len(created)


# --------------------------------------------------------------------------------------------
# Claiming and sending


def claim_one(worker_id: str, now: datetime) -> DoseReminder | None:
    """Claim the oldest due pending reminder for `worker_id`, or None when nothing is due.

    The claim is a compare-and-set: UPDATE … WHERE status = 'pending' AND claimed_at is what we
    read (NULL, or a claim older than CLAIM_TIMEOUT). Of two workers that read the same row, the
    second UPDATE changes nothing (SQLite runs one writer at a time; PostgreSQL makes the second
    UPDATE wait for the first and re-check its WHERE), and that worker moves on to the next row.
    Call it outside a transaction, so that the claim is visible to the other workers at once.
    """
    return REMINDERS.claim_next(worker_id, now)


def take(pk: int, seen_claimed_at: datetime | None, worker_id: str, now: datetime) -> bool:
    """The conditional UPDATE of a claim: True when this worker got the row."""
    return REMINDERS.take(pk, seen_claimed_at, worker_id, now)


def send(reminder: DoseReminder, *, now: datetime | None = None) -> str:
    """Send a claimed reminder: SENT, CANCELLED (its dose is gone, recorded, or too late, or the
    patient has no usable portal account) or LOST (another worker took it over after our claim
    went stale, or it was already handled). The other pending reminders of the patient at the
    same time go out in the same message."""
    now = now or timezone.now()
    with transaction.atomic():
        patient = (
            Patient.objects.select_for_update(**lock_own_rows())
            .select_related("portal_user")
            .filter(pk=reminder.patient_id)
            .first()
        )
        # The rows too: a planner cancelling one of them meanwhile waits for us, then finds it sent.
        group = list(
            DoseReminder.objects.select_for_update()
            .filter(patient_id=reminder.patient_id, due_at=reminder.due_at, status=ReminderStatus.PENDING)
            .order_by("pk")
        )
        mine = next((r for r in group if r.pk == reminder.pk), None)
        if not holds(mine, reminder):
            return LOST
        keep = _still_due(patient, group, now)
        drop = [r.pk for r in group if r.pk not in keep]
        if drop:
            REMINDERS.mark(drop, status=ReminderStatus.CANCELLED)
        if not keep:
            return CANCELLED
        marked = REMINDERS.mark(keep, status=ReminderStatus.SENT, sent_at=now)
        if marked == 0:  # handled by someone else after all: whoever changed the rows notified
            return LOST
        assert patient is not None and patient.portal_user is not None
        _notify(patient, reminder.due_at, sorted(keep))
    return SENT if mine.pk in keep else CANCELLED


def _still_due(patient: Patient | None, group: list[DoseReminder], now: datetime) -> set[int]:
    """The reminders of `group` (one patient, one due time) that should still go out."""
    if not group or patient is None or not patient.is_active:
        return set()
    user = patient.portal_user
    due_at = group[0].due_at
    if user is None or not user.is_active or due_at < now - SEND_WINDOW:
        return set()
    regimen_ids = [r.regimen_id for r in group]
    day = local_date(due_at, patient.time_zone)
    scheduled = {
        (d.regimen_id, d.due_at) for d in patient_due_doses(patient, day, day, regimen_ids=regimen_ids)
    }
    logged = set(
        DoseLog.objects.filter(regimen_id__in=regimen_ids, due_at=due_at).values_list("regimen_id", flat=True)
    )
    return {r.pk for r in group if (r.regimen_id, r.due_at) in scheduled and r.regimen_id not in logged}


def _notify(patient: Patient, due_at: datetime, reminder_ids: list[int]) -> None:
    user = patient.portal_user
    assert user is not None
    text = reminder_text(due_at.astimezone(patient.tz))
    link = reverse("portal:doses")
    body = f"{text}\n\n{settings.SITE_URL}{link}\n"
    do_notify([user], text, link=link, email_subject=EMAIL_SUBJECT if user.email else "", email_body=body)
    record_audit(
        actor=None,
        actor_label="dose reminders",
        action=Action.CREATE,
        entity_type="DoseReminder",
        entity_id=reminder_ids[0],
        patient=patient,
        organisation=patient.organisation_id,
        extra={"reminders": reminder_ids, "email": bool(user.email)},
    )


@dataclass
class DeliverResult:
    sent: int = 0
    cancelled: int = 0
    lost: int = 0
    failed: int = 0

    @property
    def claimed(self) -> int:
        return self.sent + self.cancelled + self.lost + self.failed


def deliver_due(worker_id: str, now: datetime, limit: int = 200) -> DeliverResult:
    """Claim and send due reminders, one at a time, until none is due or `limit` were claimed.
    A reminder that fails keeps its claim: it is retried by any worker once the claim is stale,
    and given up (cancelled) once SEND_WINDOW has passed."""
    result = DeliverResult()
    REMINDERS.deliver(
        worker_id,
        now,
        lambda reminder: send(reminder, now=now),
        result,
        limit=limit,
        log=logger,
        what="dose reminder",
    )
    return result


# --------------------------------------------------------------------------------------------
# The worker's jobs


def plan_job(now: datetime) -> PlanResult:
    return plan_reminders(now)


def deliver_job(now: datetime) -> DeliverResult:
    return deliver_due(jobs.worker_id(), now)


def register_jobs() -> None:
    """Called from MedicationsConfig.ready(): plan every 5 minutes, deliver every 30 seconds."""
    jobs.register("medications.plan_reminders", 300, plan_job)
    jobs.register("medications.deliver_reminders", 30, deliver_job)
