"""The daily alert digest: one e-mail a day per clinician, only when alerts wait for them.

- What it says: how many unresolved alerts are routed to the clinician, by severity, how many of
  them nobody has acknowledged, and a link to the inbox. No patient, no title, no detail: an
  e-mail can be read by anyone who sees the screen.
- When: at the clinician's chosen local time (DigestPreference.send_at, 07:30 without a row), in
  the time zone of their organisation (the first clinical membership). Local wall time is
  compared, so the digest follows daylight-saving changes: 07:30 stays 07:30. A time that does
  not exist on the day the clocks go forward is reached at the first later minute.
- Once a day: the periodic job claims the clinician's local day with a conditional UPDATE
  (… SET last_sent_on = today WHERE last_sent_on IS NULL OR last_sent_on < today) in the same
  transaction that queues the e-mail (on commit), so two workers never send the same day twice
  (tandem.core.claims.claim_period).
- Off: a clinician turns it off on the digest settings page; no e-mail is sent then.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.models import CLINICAL_ROLES, Membership, User
from tandem.accounts.tasks import send_email
from tandem.audit.actions import record_audit
from tandem.audit.models import Action
from tandem.collab.access import UNRESOLVED, routed_to
from tandem.collab.models import Alert, AlertRoute, AlertStatus, DigestPreference, Severity
from tandem.core import jobs
from tandem.core.claims import claim_period
from tandem.patients.models import CareTeamMember, active_on

EMAIL_SUBJECT = "Tandem: your daily alert summary"
DIGEST_EVERY = 300  # seconds: the digest is due at a minute of the day, five minutes late is fine
DEFAULT_TZ = "America/New_York"


@dataclass(frozen=True)
class Counts:
    urgent: int = 0
    high: int = 0
    routine: int = 0
    unacknowledged: int = 0

    @property
    def total(self) -> int:
        return self.urgent + self.high + self.routine


def counts_for(user_id: int, day: date | None = None) -> Counts:
    """The user's unresolved routed alerts by severity, and how many are unacknowledged. One query."""
    rows = (
        routed_to(user_id, day)
        .filter(status__in=UNRESOLVED)
        .values("severity")
        .annotate(n=Count("pk"), fresh=Count("pk", filter=Q(status=AlertStatus.OPEN)))
    )
    by = {r["severity"]: r for r in rows}
    return Counts(
        urgent=by.get(Severity.URGENT, {}).get("n", 0),
        high=by.get(Severity.HIGH, {}).get("n", 0),
        routine=by.get(Severity.ROUTINE, {}).get("n", 0),
        unacknowledged=sum(r["fresh"] for r in by.values()),
    )


def body(counts: Counts) -> str:
    inbox = settings.SITE_URL + reverse("collab:inbox")
    prefs = settings.SITE_URL + reverse("collab:digest_settings")
    lines = [
        "Alerts are waiting for you in Tandem:",
        "",
        f"  Urgent:  {counts.urgent}",
        f"  High:    {counts.high}",
        f"  Routine: {counts.routine}",
        "",
        f"{counts.unacknowledged} of them not yet acknowledged.",
        "",
        f"Sign in to see them: {inbox}",
        "",
        f"To change the time of this summary or turn it off: {prefs}",
    ]
    return "\n".join(lines)


def _zones(user_ids: list[int]) -> dict[int, str]:
    """Each user's zone: that of their first active clinical organisation."""
    zones: dict[int, str] = {}
    rows = (
        Membership.objects.filter(user_id__in=user_ids, is_active=True, role__in=CLINICAL_ROLES)
        .order_by("user_id", "organisation_id")
        .values_list("user_id", "organisation__time_zone")
    )
    for user_id, tz in rows:
        zones.setdefault(user_id, tz or DEFAULT_TZ)
    return zones


def candidates(day: date) -> list[int]:
    """Active clinicians with at least one unresolved alert routed to them (one query)."""
    routed = AlertRoute.objects.filter(
        role=OuterRef("role"), alert__patient_id=OuterRef("patient_id"), alert__status__in=UNRESOLVED
    )
    return list(
        CareTeamMember.objects.filter(active_on(day), user__is_active=True)
        .filter(patient_id__in=Alert.objects.filter(status__in=UNRESOLVED).values("patient_id"))
        .filter(Exists(routed))
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()
    )


def local_now(tz_name: str, now: datetime) -> datetime:
    try:
        zone = zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo(DEFAULT_TZ)
    return now.astimezone(zone)


def is_due(pref: DigestPreference, local: datetime) -> bool:
    if not pref.enabled:
        return False
    if pref.last_sent_on is not None and pref.last_sent_on >= local.date():
        return False
    return local.time().replace(tzinfo=None) >= pref.send_at


def send_one(user_id: int, local_day: date, now: datetime) -> bool:
    """Claim the user's digest of `local_day` and queue it; False when it was already sent (by
    this or another worker), is turned off, or nothing is waiting."""
    counts = counts_for(user_id)
    if counts.total == 0:
        return False
    with transaction.atomic():
        mine = DigestPreference.objects.filter(user_id=user_id, enabled=True)
        if not claim_period(mine, "last_sent_on", local_day, last_sent_at=now):
            return False
        email = DigestPreference.objects.filter(user_id=user_id).values_list("user__email", flat=True).first()
        if not email:
            return False
        text = body(counts)
        transaction.on_commit(lambda: send_email.enqueue([email], EMAIL_SUBJECT, text))
        record_audit(
            actor=None,
            actor_label="worker",
            action=Action.EXPORT,
            entity_type="AlertDigest",
            entity_id=user_id,
            extra={"day": local_day.isoformat(), "alerts": counts.total},
        )
    return True


@dataclass
class DigestRun:
    candidates: int = 0
    sent: int = 0


def send_digests(now: datetime) -> DigestRun:
    """Send every digest due at `now` (the periodic job)."""
    users = candidates(timezone.localdate(now))
    run = DigestRun(candidates=len(users))
    if not users:
        return run
    existing = set(DigestPreference.objects.filter(user_id__in=users).values_list("user_id", flat=True))
    DigestPreference.objects.bulk_create(
        [DigestPreference(user_id=u) for u in users if u not in existing], ignore_conflicts=True
    )
    prefs = {p.user_id: p for p in DigestPreference.objects.filter(user_id__in=users)}
    zones = _zones(users)
    for user_id in users:
        if jobs.stop_requested():
            break
        pref = prefs.get(user_id)
        local = local_now(zones.get(user_id, DEFAULT_TZ), now)
        if pref is not None and is_due(pref, local) and send_one(user_id, local.date(), now):
            run.sent += 1
    return run


def preference_for(user_id: int) -> DigestPreference:
    return DigestPreference.objects.filter(user_id=user_id).first() or DigestPreference(user_id=user_id)


class DigestError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@transaction.atomic
def do_set_digest_preference(
    user: User, *, enabled: bool, send_at: time | None, request: HttpRequest | None = None
) -> DigestPreference:
    """Turn the user's digest on or off and set its local time (audited)."""
    if send_at is None:
        raise DigestError("send_at", "enter a time like 07:30")
    pref, _ = DigestPreference.objects.update_or_create(
        user=user, defaults={"enabled": enabled, "send_at": send_at, "updated_at": timezone.now()}
    )
    record_audit(
        actor=user,
        action=Action.UPDATE,
        entity_type="AlertDigestPreference",
        entity_id=pref.pk,
        request=request,
        extra={"enabled": enabled, "send_at": send_at.strftime("%H:%M")},
    )
    return pref


def register_jobs() -> None:
    jobs.register("collab.alert_digest", DIGEST_EVERY, send_digests)
