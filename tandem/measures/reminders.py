"""Questionnaire reminders to the patient: due rows in the database, claimed one at a time, sent
once (the same design as tandem/medications/reminders.py and tandem/therapy/reminders.py).

The rules
- An instrument is due when `schedule.due_instruments` says so (the plan's monitoring section;
  a positive PHQ-2 or GAD-2 makes the PHQ-9 or GAD-7 due at once). One stretch of "due and
  unanswered" is an *episode*, named by the instrument's last scored administration ("first"
  when there is none). Answering the instrument ends the episode.
- Per episode the patient gets at most two reminders, each an in-app notification and (unless
  they turned questionnaire e-mails off) one e-mail:
  1. when it becomes due: at 10:00 local on its due day; or at once when it is found due during
     waking hours (08:00–20:00 local) — a positive screen, a new plan item, a due day already
     past — and otherwise at the next 10:00 local;
  2. one gentle follow-up at 10:00 local three days after the day the first went out, if the
     instrument is still unanswered. Nothing after that: no nagging.
- Times are wall-clock times in the patient's IANA time zone (tandem.lib.timezones.at_local), so
  10:00 stays 10:00 across daylight-saving changes. Nothing is ever sent outside 08:00–20:00
  local: a reminder found late (the worker was down) is moved to the next sensible time.
- The words name no instrument, score or clinician: "You have a short questionnaire to answer in
  Tandem" (a PHQ-9 would reveal a depression measure on a lock screen or a shared mailbox). The
  in-app notification links to the portal's questionnaire list.

The machinery
- `plan_reminders(now)` finds the due episodes of every patient with a usable portal account
  and writes their rows (bulk, conflicts ignored: running it twice, or in two workers at once,
  changes nothing); the follow-up row is written once the first has gone out.
- `claim_one(worker_id, now)` takes ONE due row with a conditional UPDATE, so that two workers
  never take the same row; a claim older than CLAIM_TIMEOUT (the worker died) can be taken again
  (the claim, the lease and the marks are tandem.core.claims).
- `send(reminder)` re-checks, under a lock of the patient's row, that the episode is still due
  (a questionnaire answered meanwhile, or dropped from the plan, sends nothing) and notifies.
  The row's status changes by UPDATE … WHERE status = 'pending' in the same transaction as the
  notification; the e-mail is queued when that transaction commits
  (tandem.accounts.actions.do_notify), so a crash loses an e-mail rather than sending it twice.
"""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

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
from tandem.lib.timezones import at_local, local_date
from tandem.measures import definitions
from tandem.measures.models import (
    InstrumentResponse,
    QuestionnaireReminder,
    QuestionnaireReminderPreference,
    ReminderKind,
    ReminderStatus,
)
from tandem.measures.schedule import Due, due_instruments
from tandem.patients.models import Patient
from tandem.plans.models import PlanStatus, TreatmentPlan

logger = logging.getLogger(__name__)

WAKING_START = time(8, 0)
WAKING_END = time(20, 0)  # exclusive: 20:00 is no longer waking hours
SEND_TIME = time(10, 0)
FOLLOW_UP_AFTER_DAYS = 3
CLAIM_TIMEOUT = timedelta(minutes=5)
# A reminder this late is moved to the next sensible time rather than sent (the worker was down).
SEND_WINDOW = timedelta(hours=1)
PLAN_BATCH = 200
FIRST_EPISODE = "first"

EMAIL_SUBJECT = "A short questionnaire in Tandem"

REMINDERS = Claims(
    QuestionnaireReminder, Q(status=ReminderStatus.PENDING), lease=CLAIM_TIMEOUT, window=SEND_WINDOW
)


def reminder_text(count: int, *, follow_up: bool) -> str:
    """The words of every reminder: no instrument, no score, no name."""
    what = "a short questionnaire" if count == 1 else "some short questionnaires"
    text = f"You have {what} to answer in Tandem."
    return f"A gentle reminder: {text[0].lower()}{text[1:]}" if follow_up else text


# --------------------------------------------------------------------------------------------
# When


def _zone(tz: zoneinfo.ZoneInfo | str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(tz) if isinstance(tz, str) else tz


def waking(now: datetime, tz: zoneinfo.ZoneInfo | str) -> bool:
    """08:00 ≤ local time < 20:00."""
    return WAKING_START <= now.astimezone(_zone(tz)).time() < WAKING_END


def next_send_time(now: datetime, tz: zoneinfo.ZoneInfo | str) -> datetime:
    """`now` during waking hours, otherwise the next 10:00 local (today's before 10:00)."""
    if waking(now, tz):
        return now
    local = now.astimezone(_zone(tz))
    day = local.date() if local.time() < SEND_TIME else local.date() + timedelta(days=1)
    return at_local(day, SEND_TIME, tz)


def first_reminder_at(
    now: datetime, tz: zoneinfo.ZoneInfo | str, *, due_on: date, scheduled: bool
) -> datetime:
    """When the first reminder of an episode found due at `now` goes out: a scheduled instrument
    due today and found before 10:00 local waits for 10:00; anything else is sent at once during
    waking hours, else at the next 10:00 local."""
    today = local_date(now, tz)
    if scheduled and due_on >= today and now.astimezone(_zone(tz)).time() < SEND_TIME:
        return at_local(due_on, SEND_TIME, tz)
    return next_send_time(now, tz)


def follow_up_at(first_sent_at: datetime, tz: zoneinfo.ZoneInfo | str) -> datetime:
    """10:00 local, FOLLOW_UP_AFTER_DAYS days after the local day the first reminder went out."""
    return at_local(local_date(first_sent_at, tz) + timedelta(days=FOLLOW_UP_AFTER_DAYS), SEND_TIME, tz)


def episode_key(due: Due) -> str:
    if due.last_at is None:
        return FIRST_EPISODE
    return due.last_at.astimezone(UTC).isoformat()


def answerable(instrument: str) -> bool:
    """Only what the patient answers in the portal is reminded; instruments given in session
    (their wording is not reproduced) are the care team's to administer."""
    defn = definitions.registry().get(instrument)
    return defn is not None and defn.self_administrable and defn.scoring.method != "none"


def _scheduled(due: Due, tz: str) -> bool:
    """Due by the plan's interval (rather than at once: first time, or after a positive screen)."""
    return (
        due.last_at is not None
        and due.every_days is not None
        and due.due_on == local_date(due.last_at, tz) + timedelta(days=due.every_days)
    )


def emails_on(patient_id: int) -> bool:
    """The patient's choice; e-mails are on until they turn them off."""
    choice = (
        QuestionnaireReminderPreference.objects.filter(patient_id=patient_id)
        .values_list("email", flat=True)
        .first()
    )
    return True if choice is None else bool(choice)


# --------------------------------------------------------------------------------------------
# Planning


@dataclass
class PlanResult:
    patients: int = 0
    created: int = 0
    revived: int = 0
    postponed: int = 0
    skipped: list[int] = field(default_factory=list)  # patients whose schedule could not be read


def _candidates() -> Any:
    """Patients with a usable portal account and something that can make an instrument due."""
    plan = TreatmentPlan.objects.filter(
        patient=OuterRef("pk"), status=PlanStatus.ACTIVE, current__isnull=False
    )
    screens = [d.id for d in definitions.registry().values() if d.screen and d.screen.then]
    screened = InstrumentResponse.objects.filter(patient=OuterRef("pk"), scored=True, instrument__in=screens)
    return Patient.objects.filter(
        Q(Exists(plan)) | Q(Exists(screened)),
        is_active=True,
        portal_user__isnull=False,
        portal_user__is_active=True,
    )


def plan_reminders(now: datetime, *, batch_size: int = PLAN_BATCH) -> PlanResult:
    """Write the reminder rows of every due episode (first reminders, and follow-ups of sent
    ones), revive cancelled unsent rows whose episode is due again, and move pending rows found
    too late to the next sensible time. Idempotent; patients are read in batches by id."""
    result = PlanResult(postponed=_postpone_late(now))
    candidates = _candidates()
    last_pk = 0
    while not jobs.stop_requested():
        batch = list(candidates.filter(pk__gt=last_pk).order_by("pk")[:batch_size])
        if not batch:
            break
        last_pk = batch[-1].pk
        _plan_batch(batch, now, result)
        result.patients += len(batch)
    return result


def _plan_batch(batch: list[Patient], now: datetime, result: PlanResult) -> None:
    existing: dict[tuple[int, str, str, str], QuestionnaireReminder] = {
        (r.patient_id, r.instrument, r.episode, r.kind): r
        for r in QuestionnaireReminder.objects.filter(patient__in=batch).only(
            "pk", "patient_id", "instrument", "episode", "kind", "status", "sent_at"
        )
    }
    new: list[QuestionnaireReminder] = []
    back: dict[int, datetime] = {}
    for patient in batch:
        tz = patient.time_zone
        try:
            due = due_instruments(patient, local_date(now, tz))
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            # A bad time zone in one record must not stop everybody's reminders.
            logger.warning(
                "questionnaire reminders: the schedule of patient %s could not be read", patient.pk
            )
            result.skipped.append(patient.pk)
            continue
        for item in due:
            if not answerable(item.instrument):
                continue
            episode = episode_key(item)
            first = existing.get((patient.pk, item.instrument, episode, ReminderKind.FIRST))
            if first is None:
                when = first_reminder_at(now, tz, due_on=item.due_on, scheduled=_scheduled(item, tz))
                new.append(_row(patient, item, episode, ReminderKind.FIRST, when))
                continue
            if first.status == ReminderStatus.CANCELLED and first.sent_at is None:
                back[first.pk] = next_send_time(now, tz)
                continue
            if first.status != ReminderStatus.SENT or first.sent_at is None:
                continue
            later = existing.get((patient.pk, item.instrument, episode, ReminderKind.FOLLOW_UP))
            # Never in the past: a planner that was down sends the follow-up at the next sensible time.
            when = max(follow_up_at(first.sent_at, tz), next_send_time(now, tz))
            if later is None:
                new.append(_row(patient, item, episode, ReminderKind.FOLLOW_UP, when))
            elif later.status == ReminderStatus.CANCELLED and later.sent_at is None:
                back[later.pk] = when
    # Reads above, writes here: the write transaction stays short (SQLite has one writer). An
    # instrument answered in between is caught again when the reminder is sent.
    with transaction.atomic():
        for pk, when in back.items():
            result.revived += QuestionnaireReminder.objects.filter(
                pk=pk, status=ReminderStatus.CANCELLED, sent_at__isnull=True
            ).update(status=ReminderStatus.PENDING, due_at=when, **UNCLAIMED)
        if new:
            result.created += len(QuestionnaireReminder.objects.bulk_create(new, ignore_conflicts=True))


def _row(patient: Patient, item: Due, episode: str, kind: str, when: datetime) -> QuestionnaireReminder:
    return QuestionnaireReminder(
        patient=patient,
        instrument=item.instrument,
        episode=episode,
        kind=kind,
        due_on=item.due_on,
        due_at=when,
    )


def _postpone_late(now: datetime) -> int:
    """Move pending rows more than SEND_WINDOW late to the next sensible time (a compare-and-set
    on the row's due time, so a worker sending it meanwhile wins)."""
    late = QuestionnaireReminder.objects.filter(
        status=ReminderStatus.PENDING, due_at__lt=now - SEND_WINDOW
    ).values_list("pk", "due_at", "patient__time_zone")
    moved = 0
    for pk, due_at, tz in late:
        try:
            when = next_send_time(now, tz)
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            continue
        moved += QuestionnaireReminder.objects.filter(
            pk=pk, status=ReminderStatus.PENDING, due_at=due_at
        ).update(due_at=when, **UNCLAIMED)
    return moved


# --------------------------------------------------------------------------------------------
# Claiming and sending


def claim_one(worker_id: str, now: datetime) -> QuestionnaireReminder | None:
    """Claim the oldest due pending reminder for `worker_id`, or None when nothing is due.

    The claim is a compare-and-set: UPDATE … WHERE status = 'pending' AND claimed_at is what we
    read (NULL, or a claim older than CLAIM_TIMEOUT); of two workers that read the same row, the
    second UPDATE changes nothing and that worker moves on. Call it outside a transaction.
    """
    return REMINDERS.claim_next(worker_id, now)


def take(pk: int, seen_claimed_at: datetime | None, worker_id: str, now: datetime) -> bool:
    """The conditional UPDATE of a claim: True when this worker got the row."""
    return REMINDERS.take(pk, seen_claimed_at, worker_id, now)


POSTPONED = "postponed"  # besides SENT, CANCELLED and LOST


def send(reminder: QuestionnaireReminder, *, now: datetime | None = None) -> str:
    """Send a claimed reminder: SENT; CANCELLED (the questionnaire was answered or is no longer
    due, or the patient has no usable portal account); POSTPONED (too late, or outside waking
    hours: moved to the next sensible time); or LOST (another worker took it over after our
    claim went stale, or it was already handled). The patient's other pending reminders due at
    the same instant go out in the same message."""
    now = now or timezone.now()
    with transaction.atomic():
        patient = (
            Patient.objects.select_for_update(**lock_own_rows())
            .select_related("portal_user")
            .filter(pk=reminder.patient_id)
            .first()
        )
        group = list(
            QuestionnaireReminder.objects.select_for_update()
            .filter(patient_id=reminder.patient_id, due_at=reminder.due_at, status=ReminderStatus.PENDING)
            .order_by("pk")
        )
        mine = next((r for r in group if r.pk == reminder.pk), None)
        if not holds(mine, reminder):
            return LOST
        if patient is not None and (mine.due_at < now - SEND_WINDOW or not waking(now, patient.time_zone)):
            REMINDERS.release([mine.pk], due_at=next_send_time(now, patient.time_zone))
            return POSTPONED
        keep = _still_due(patient, group, now)
        drop = [r.pk for r in group if r.pk not in keep]
        if drop:
            REMINDERS.mark(drop, status=ReminderStatus.CANCELLED)
        if not keep:
            return CANCELLED
        assert patient is not None and patient.portal_user is not None
        email = emails_on(patient.pk) and bool(patient.portal_user.email)
        marked = REMINDERS.mark(keep, status=ReminderStatus.SENT, sent_at=now, emailed=email)
        if marked == 0:  # handled by someone else after all: whoever changed the rows notified
            return LOST
        sent = [r for r in group if r.pk in keep]
        _notify(patient, sent, email=email)
    return SENT if mine.pk in keep else CANCELLED


def _still_due(patient: Patient | None, group: list[QuestionnaireReminder], now: datetime) -> set[int]:
    """The reminders of `group` whose episode is still due and unanswered."""
    if not group or patient is None or not patient.is_active:
        return set()
    user = patient.portal_user
    if user is None or not user.is_active:
        return set()
    current = {
        item.instrument: episode_key(item)
        for item in due_instruments(patient, local_date(now, patient.time_zone))
        if answerable(item.instrument)
    }
    return {r.pk for r in group if current.get(r.instrument) == r.episode}


def _notify(patient: Patient, rows: list[QuestionnaireReminder], *, email: bool) -> None:
    user = patient.portal_user
    assert user is not None
    instruments = sorted({r.instrument for r in rows})
    text = reminder_text(len(instruments), follow_up=all(r.kind == ReminderKind.FOLLOW_UP for r in rows))
    link = reverse("portal_measures:due")
    body = f"{text}\n\n{settings.SITE_URL}{link}\n"
    do_notify([user], text, link=link, email_subject=EMAIL_SUBJECT if email else "", email_body=body)
    record_audit(
        actor=None,
        actor_label="questionnaire reminders",
        action=Action.CREATE,
        entity_type="QuestionnaireReminder",
        entity_id=rows[0].pk,
        patient=patient,
        organisation=patient.organisation_id,
        extra={
            "reminders": [r.pk for r in rows],
            "instruments": instruments,
            "kinds": sorted({r.kind for r in rows}),
            "email": email,
        },
    )


@dataclass
class DeliverResult:
    sent: int = 0
    cancelled: int = 0
    postponed: int = 0
    lost: int = 0
    failed: int = 0

    @property
    def claimed(self) -> int:
        return self.sent + self.cancelled + self.postponed + self.lost + self.failed


def deliver_due(worker_id: str, now: datetime, limit: int = 200) -> DeliverResult:
    """Claim and send due reminders, one at a time, until none is due or `limit` were claimed.
    A reminder that fails keeps its claim: any worker retries it once the claim is stale, and the
    planner moves it on once it is SEND_WINDOW late."""
    result = DeliverResult()
    REMINDERS.deliver(
        worker_id,
        now,
        lambda reminder: send(reminder, now=now),
        result,
        limit=limit,
        log=logger,
        what="questionnaire reminder",
    )
    return result


# --------------------------------------------------------------------------------------------
# The worker's jobs


def plan_job(now: datetime) -> PlanResult:
    return plan_reminders(now)


def deliver_job(now: datetime) -> DeliverResult:
    return deliver_due(jobs.worker_id(), now)


def register_jobs() -> None:
    """Called from MeasuresConfig.ready(): plan every 10 minutes (so an instrument that becomes
    due at once — a positive screen — is reminded within minutes, giving a patient who is still
    in the portal time to answer it first), deliver every minute."""
    jobs.register("measures.plan_questionnaire_reminders", 600, plan_job)
    jobs.register("measures.deliver_questionnaire_reminders", 60, deliver_job)
