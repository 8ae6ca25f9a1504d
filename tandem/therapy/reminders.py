"""Session reminders to the patient: due rows in the database, claimed one at a time, sent once
(the same design as tandem/medications/reminders.py).

- Two reminders per scheduled session: the day before at the same local wall-clock time (so
  "tomorrow at 14:00" is said at 14:00 the day before even across a daylight-saving change), and
  two hours before.
- `plan_reminders(now)` writes the rows of the reminders due from SEND_WINDOW ago to
  `now + horizon` for every scheduled session of a patient with a usable portal account (bulk,
  conflicts ignored: running it twice, or in two workers at once, changes nothing) and cancels
  pending rows whose session was cancelled, marked or moved (a moved session gets new rows).
- `claim_one(worker_id, now)` takes ONE due row with a conditional UPDATE, so that two workers
  never take the same row; a claim older than CLAIM_TIMEOUT (the worker died) can be taken again.
- `send(reminder)` re-checks the session (a cancelled or moved one sends nothing) and notifies
  the patient in the app and by e-mail, with no clinician, place or kind of visit in the words.

Sent once (the claim, the lease and the marks are tandem.core.claims): the row's status changes
by UPDATE … WHERE status = 'pending' in the same transaction as the notification, under a lock
of the patient's row. The e-mail is queued when that transaction commits
(tandem.accounts.actions.do_notify).
"""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.actions import do_notify
from tandem.audit.actions import record_audit
from tandem.audit.models import Action
from tandem.core import jobs
from tandem.core.claims import CANCELLED, LOST, SENT, UNCLAIMED, Claims, holds, lock_own_rows
from tandem.lib.timezones import at_local, local_date
from tandem.patients.models import Patient
from tandem.therapy.models import ReminderLead, ReminderStatus, Session, SessionReminder, SessionStatus

logger = logging.getLogger(__name__)

PLAN_HORIZON = timedelta(hours=24)
CLAIM_TIMEOUT = timedelta(minutes=5)
# A reminder this late (the worker was down) is cancelled, not sent.
SEND_WINDOW = timedelta(hours=1)
HOURS_BEFORE = timedelta(hours=2)
# The day-before reminder of a session is at most 25 hours ahead of it (a fall-back day).
LONGEST_LEAD = timedelta(hours=25)
PLAN_BATCH = 1000

EMAIL_SUBJECT = "Appointment reminder"

REMINDERS = Claims(SessionReminder, Q(status=ReminderStatus.PENDING), lease=CLAIM_TIMEOUT, window=SEND_WINDOW)


def due_at(lead: str, starts_at: datetime, tz: zoneinfo.ZoneInfo | str) -> datetime:
    """When a reminder of a session starting at `starts_at` is due."""
    if lead == ReminderLead.DAY_BEFORE:
        local = starts_at.astimezone(zoneinfo.ZoneInfo(tz) if isinstance(tz, str) else tz)
        return at_local(local.date() - timedelta(days=1), local.time().replace(tzinfo=None), tz)
    return starts_at - HOURS_BEFORE


def reminder_text(starts_at: datetime, now: datetime, tz: zoneinfo.ZoneInfo | str) -> str:
    """The words of every reminder: no clinician, no place, no kind of visit (lock screens and
    shared mailboxes)."""
    local = timezone.localtime(starts_at, zoneinfo.ZoneInfo(tz) if isinstance(tz, str) else tz)
    days = (local.date() - local_date(now, tz)).days
    when = "today" if days == 0 else "tomorrow" if days == 1 else f"on {local:%A} {local.day} {local:%B}"
    return f"You have an appointment {when} at {local:%H:%M} — details in Tandem."


# --------------------------------------------------------------------------------------------
# Planning


@dataclass
class PlanResult:
    sessions: int = 0
    created: int = 0
    cancelled: int = 0
    revived: int = 0
    expired: int = 0
    skipped: list[int] = field(default_factory=list)  # patients whose time zone could not be read


def _eligible() -> Q:
    return Q(
        status=SessionStatus.SCHEDULED,
        patient__is_active=True,
        patient__portal_user__isnull=False,
        patient__portal_user__is_active=True,
    )


def plan_reminders(
    now: datetime, horizon: timedelta = PLAN_HORIZON, *, batch_size: int = PLAN_BATCH
) -> PlanResult:
    """Make the rows of every reminder due from SEND_WINDOW ago to `now + horizon`, and cancel
    pending rows in that window whose session no longer wants them. Idempotent. Sessions are read
    in batches by id with a fixed number of queries per batch."""
    result = PlanResult()
    start, end = now - SEND_WINDOW, now + horizon
    result.expired = SessionReminder.objects.filter(status=ReminderStatus.PENDING, due_at__lt=start).update(
        status=ReminderStatus.CANCELLED
    )
    candidates = Session.objects.filter(
        _eligible(), starts_at__gt=start, starts_at__lte=end + LONGEST_LEAD
    ).order_by("pk")
    last_pk = 0
    while not jobs.stop_requested():
        batch = list(
            candidates.filter(pk__gt=last_pk).values_list(
                "pk", "patient_id", "starts_at", "patient__time_zone"
            )[:batch_size]
        )
        if not batch:
            break
        last_pk = batch[-1][0]
        wanted: dict[tuple[int, str, datetime], int] = {}
        for pk, patient_id, starts_at, tz in batch:
            try:
                for lead in ReminderLead.values:
                    when = due_at(lead, starts_at, tz)
                    if start <= when <= end and when < starts_at:
                        wanted[(pk, lead, when)] = patient_id
            except (ValueError, zoneinfo.ZoneInfoNotFoundError):
                logger.warning("session reminders: the time zone of patient %s could not be read", patient_id)
                result.skipped.append(patient_id)
        existing = {
            (session_id, lead, when): (pk, status)
            for pk, session_id, lead, when, status in SessionReminder.objects.filter(
                session_id__in=[row[0] for row in batch]
            ).values_list("pk", "session_id", "lead", "due_at", "status")
        }
        back = [
            pk
            for key, (pk, status) in existing.items()
            if status == ReminderStatus.CANCELLED and key in wanted and key[2] > now
        ]
        new = [
            SessionReminder(patient_id=patient_id, session_id=key[0], lead=key[1], due_at=key[2])
            for key, patient_id in wanted.items()
            if key not in existing
        ]
        with transaction.atomic():
            if back:
                result.revived += SessionReminder.objects.filter(
                    pk__in=back, status=ReminderStatus.CANCELLED
                ).update(status=ReminderStatus.PENDING, **UNCLAIMED)
            if new:
                result.created += len(SessionReminder.objects.bulk_create(new, ignore_conflicts=True))
        result.sessions += len(batch)
    result.cancelled = _cancel_gone(start, end)
    return result


def _cancel_gone(start: datetime, end: datetime) -> int:
    """Cancel the pending rows in the window whose session was cancelled, marked or moved, or
    whose patient can no longer use the portal (one read, one write)."""
    pending = SessionReminder.objects.filter(
        status=ReminderStatus.PENDING, due_at__gte=start, due_at__lte=end
    )
    gone = []
    for pk, lead, when, starts_at, status, tz, usable in pending.values_list(
        "pk",
        "lead",
        "due_at",
        "session__starts_at",
        "session__status",
        "patient__time_zone",
        "patient__portal_user__is_active",
    ):
        try:
            still = status == SessionStatus.SCHEDULED and usable and due_at(lead, starts_at, tz) == when
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            continue
        if not still:
            gone.append(pk)
    if not gone:
        return 0
    return REMINDERS.mark(gone, status=ReminderStatus.CANCELLED)


# --------------------------------------------------------------------------------------------
# Claiming and sending


def claim_one(worker_id: str, now: datetime) -> SessionReminder | None:
    """Claim the oldest due pending reminder for `worker_id`, or None when nothing is due.

    The claim is a compare-and-set: UPDATE … WHERE status = 'pending' AND claimed_at is what we
    read (NULL, or a claim older than CLAIM_TIMEOUT); of two workers that read the same row, the
    second UPDATE changes nothing and that worker moves on. Call it outside a transaction.
    """
    return REMINDERS.claim_next(worker_id, now)


def take(pk: int, seen_claimed_at: datetime | None, worker_id: str, now: datetime) -> bool:
    """The conditional UPDATE of a claim: True when this worker got the row."""
    return REMINDERS.take(pk, seen_claimed_at, worker_id, now)


def send(reminder: SessionReminder, *, now: datetime | None = None) -> str:
    """Send a claimed reminder: SENT, CANCELLED (the session was cancelled, marked or moved, it
    is too late, or the patient has no usable portal account) or LOST (another worker took it
    over after our claim went stale, or it was already handled)."""
    now = now or timezone.now()
    with transaction.atomic():
        patient = (
            Patient.objects.select_for_update(**lock_own_rows())
            .select_related("portal_user")
            .filter(pk=reminder.patient_id)
            .first()
        )
        mine = (
            SessionReminder.objects.select_for_update(**lock_own_rows())
            .select_related("session")
            .filter(pk=reminder.pk, status=ReminderStatus.PENDING)
            .first()
        )
        if not holds(mine, reminder):
            return LOST
        session = mine.session
        user = patient.portal_user if patient is not None else None
        still = (
            patient is not None
            and patient.is_active
            and user is not None
            and user.is_active
            and session.status == SessionStatus.SCHEDULED
            and mine.due_at >= now - SEND_WINDOW
            and session.starts_at > now
            and due_at(mine.lead, session.starts_at, patient.time_zone) == mine.due_at
        )
        if not still:
            REMINDERS.mark([mine.pk], status=ReminderStatus.CANCELLED)
            return CANCELLED
        marked = REMINDERS.mark([mine.pk], status=ReminderStatus.SENT, sent_at=now)
        if marked == 0:
            return LOST
        assert patient is not None and user is not None
        _notify(patient, session, mine, now)
    return SENT


def _notify(patient: Patient, session: Session, reminder: SessionReminder, now: datetime) -> None:
    user = patient.portal_user
    assert user is not None
    text = reminder_text(session.starts_at, now, patient.time_zone)
    link = reverse("portal_therapy:sessions")
    body = f"{text}\n\n{settings.SITE_URL}{link}\n"
    do_notify([user], text, link=link, email_subject=EMAIL_SUBJECT if user.email else "", email_body=body)
    record_audit(
        actor=None,
        actor_label="session reminders",
        action=Action.CREATE,
        entity_type="SessionReminder",
        entity_id=reminder.pk,
        patient=patient,
        organisation=patient.organisation_id,
        extra={"session": session.pk, "lead": reminder.lead, "email": bool(user.email)},
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
    """Claim and send due reminders, one at a time, until none is due or `limit` were claimed."""
    result = DeliverResult()
    REMINDERS.deliver(
        worker_id,
        now,
        lambda reminder: send(reminder, now=now),
        result,
        limit=limit,
        log=logger,
        what="session reminder",
    )
    return result


def plan_job(now: datetime) -> PlanResult:
    return plan_reminders(now)


def deliver_job(now: datetime) -> DeliverResult:
    return deliver_due(jobs.worker_id(), now)


def register_jobs() -> None:
    """Called from TherapyConfig.ready(): plan every 5 minutes, deliver every 30 seconds."""
    jobs.register("therapy.plan_reminders", 300, plan_job)
    jobs.register("therapy.deliver_reminders", 30, deliver_job)
