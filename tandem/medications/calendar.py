"""iCalendar (RFC 5545) feeds of a patient's doses, at a secret, revocable address.

- Writing: `render_calendar()` turns `CalendarEvent`s into a VCALENDAR with UTC times, TEXT
  escaping, lines folded at 75 octets and CRLF line ends (no dependency: the format is small).
- Sources: a registry, as for the timeline. An app adds events to the patient's feed by writing
  `<app>/calendar.py` that calls `register()` with a `FeedSource` (the therapy app: sessions).
  Modules are imported on first use, in INSTALLED_APPS order. A source answers with a fixed
  number of queries whatever the number of events.
- Doses: one event per dose time (several medications at 08:00 are one event) with a display
  alarm at the dose time. Titles say "Medication reminder" unless the patient chose to show
  medication names: a calendar is often shared, synced to other companies and shown on a lock
  screen.
- Feed tokens: the token in the URL is the only credential; only its SHA-256 is stored, a new
  link revokes the old one, and every change is audited (these are the feed's actions).
"""

from __future__ import annotations

import importlib
import secrets
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlparse

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.module_loading import module_has_submodule

from tandem.accounts.models import User, hash_token
from tandem.audit.actions import audit_patient_event, record_audit
from tandem.audit.models import Action, Outcome
from tandem.lib.timezones import local_date
from tandem.medications.feed_models import CalendarFeed
from tandem.medications.models import RegimenVersion
from tandem.medications.queries import patient_due_doses
from tandem.patients.models import Patient

PAST_DAYS = 7
FUTURE_DAYS = 14
DOSE_EVENT_LENGTH = timedelta(minutes=15)
PRIVATE_TITLE = "Medication reminder"
FEED_ACTOR = "calendar feed"

# --------------------------------------------------------------------------------------------
# Writing RFC 5545


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    start: datetime  # aware
    end: datetime  # aware
    summary: str
    description: str = ""
    url: str = ""
    alarm: bool = False  # a display alarm at the start


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and line breaks escaped."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> bytes:
    """One content line as octets: at most 75 octets per physical line, continuation lines
    starting with a space (RFC 5545 3.1), never splitting a UTF-8 character, CRLF at the end."""
    data = line.encode("utf-8")
    parts = []
    limit = 75
    while len(data) > limit:
        cut = limit
        while data[cut] & 0xC0 == 0x80:  # do not cut inside a multi-byte character
            cut -= 1
        parts.append(data[:cut])
        data = data[cut:]
        limit = 74  # the leading space counts
    parts.append(data)
    return b"\r\n ".join(parts) + b"\r\n"


def utc_stamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is required")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def render_calendar(events: Iterable[CalendarEvent], *, name: str, now: datetime) -> bytes:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Tandem//Tandem calendar feed//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
    ]
    stamp = utc_stamp(now)
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{event.uid}",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{utc_stamp(event.start)}",
            f"DTEND:{utc_stamp(event.end)}",
            f"SUMMARY:{escape_text(event.summary)}",
            "CLASS:PRIVATE",
            "TRANSP:TRANSPARENT",
        ]
        if event.description:
            lines.append(f"DESCRIPTION:{escape_text(event.description)}")
        if event.url:
            lines.append(f"URL:{event.url}")
        if event.alarm:
            lines += [
                "BEGIN:VALARM",
                "ACTION:DISPLAY",
                "TRIGGER;RELATED=START:PT0S",
                f"DESCRIPTION:{escape_text(event.summary)}",
                "END:VALARM",
            ]
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return b"".join(fold(line) for line in lines)


# --------------------------------------------------------------------------------------------
# Sources


@dataclass(frozen=True)
class FeedOptions:
    now: datetime
    first_day: date  # the patient's local days, inclusive
    last_day: date
    show_names: bool  # False: no medication (or other clinical) names in titles or descriptions
    site_url: str


class FeedSource(ABC):
    key: str

    @abstractmethod
    def events(self, patient: Patient, options: FeedOptions) -> list[CalendarEvent]:
        """The patient's events on options.first_day..last_day, with a fixed number of queries."""


class Registry:
    def __init__(self) -> None:
        self._sources: dict[str, FeedSource] = {}
        self._discovered = False

    def register(self, source: FeedSource) -> FeedSource:
        return self._sources.setdefault(source.key, source)

    def sources(self) -> list[FeedSource]:
        if not self._discovered:
            for config in apps.get_app_configs():
                if config.name.startswith("tandem.") and module_has_submodule(config.module, "calendar"):
                    importlib.import_module(f"{config.name}.calendar")
            self._discovered = True
        return list(self._sources.values())


registry = Registry()
register = registry.register


def event_uid(kind: str, patient: Patient, moment: datetime) -> str:
    """A UID that stays the same on every fetch (so calendars update events instead of adding
    them) and says nothing about the patient."""
    digest = salted_hmac(f"tandem.calendar.{kind}", f"{patient.pk}:{utc_stamp(moment)}").hexdigest()[:32]
    return f"{kind}-{digest}@{urlparse(settings.SITE_URL).hostname or 'tandem'}"


class DoseSource(FeedSource):
    key = "doses"

    def events(self, patient: Patient, options: FeedOptions) -> list[CalendarEvent]:
        doses = patient_due_doses(patient, options.first_day, options.last_day)  # two queries
        by_time: dict[datetime, list[int]] = defaultdict(list)
        for dose in doses:
            by_time[dose.due_at].append(dose.version_id)
        names: dict[int, str] = {}
        if options.show_names and doses:
            versions = RegimenVersion.objects.filter(pk__in={d.version_id for d in doses}).select_related(
                "regimen"
            )
            names = {
                v.pk: f"{v.regimen.drug_name} {v.dose_amount.normalize():f} {v.dose_unit}" for v in versions
            }
        link = f"{options.site_url}{reverse('portal:doses')}"
        events = []
        for due_at, version_ids in sorted(by_time.items()):
            if options.show_names:
                labels = sorted({names[pk] for pk in version_ids})
                summary = ("Medication: " if len(labels) == 1 else "Medications: ") + ", ".join(labels)
                description = "\n".join(labels) + f"\n\nRecord it in Tandem: {link}"
            else:
                summary = PRIVATE_TITLE
                description = f"Time for your medication. Open Tandem to record it: {link}"
            events.append(
                CalendarEvent(
                    uid=event_uid("dose", patient, due_at),
                    start=due_at,
                    end=due_at + DOSE_EVENT_LENGTH,
                    summary=summary,
                    description=description,
                    url=link,
                    alarm=due_at >= options.now,  # no alarms for the past: some clients replay them
                )
            )
        return events


register(DoseSource())


def build_feed(feed: CalendarFeed, now: datetime) -> tuple[bytes, int]:
    """The feed's iCalendar body and its number of events: PAST_DAYS back and FUTURE_DAYS ahead."""
    patient = feed.patient
    today = local_date(now, patient.time_zone)
    options = FeedOptions(
        now=now,
        first_day=today - timedelta(days=PAST_DAYS),
        last_day=today + timedelta(days=FUTURE_DAYS),
        show_names=feed.show_names,
        site_url=settings.SITE_URL,
    )
    events = [event for source in registry.sources() for event in source.events(patient, options)]
    events.sort(key=lambda e: (e.start, e.uid))
    return render_calendar(events, name="Tandem", now=now), len(events)


# --------------------------------------------------------------------------------------------
# Feed tokens (the feed's actions: one transaction each, audited)

TOKEN_MAX_LENGTH = 128


def feed_url(raw_token: str) -> str:
    return f"{settings.SITE_URL}{reverse('feeds:doses', kwargs={'token': raw_token})}"


def find_feed(raw_token: str) -> CalendarFeed | None:
    """The feed of a token, live or revoked (None for an unknown one)."""
    if not raw_token or len(raw_token) > TOKEN_MAX_LENGTH:
        return None
    return (
        CalendarFeed.objects.select_related("patient", "patient__portal_user")
        .filter(token_hash=hash_token(raw_token))
        .first()
    )


def is_live(feed: CalendarFeed) -> bool:
    """A feed answers while it is not revoked and its patient may still use the portal."""
    patient = feed.patient
    user = patient.portal_user
    return feed.revoked_at is None and patient.is_active and user is not None and user.is_active


def live_feed(patient: Patient) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(patient=patient, revoked_at__isnull=True).first()


def _lock_patient(patient: Patient) -> None:
    # Serialises a patient's feed changes (one live feed); SQLite already has one writer.
    list(Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk", flat=True))


@transaction.atomic
def do_create_calendar_feed(
    patient: Patient,
    *,
    acting_user: User,
    role: str = "patient",
    show_names: bool | None = None,
    request: HttpRequest | None = None,
) -> tuple[CalendarFeed, str]:
    """A new secret link; the old one, if any, stops working. Returns the feed and the raw
    token, which exists nowhere else: show it once."""
    _lock_patient(patient)
    now = timezone.now()
    old = live_feed(patient)
    if old is not None:
        old.revoked_at = now
        old.save(update_fields=["revoked_at"])
    raw = secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(
        patient=patient,
        token_hash=hash_token(raw),
        prefix=raw[:6],
        show_names=old.show_names if show_names is None and old is not None else bool(show_names),
        created_at=now,
        created_by=acting_user,
    )
    audit_patient_event(
        acting_user,
        Action.CREATE,
        "CalendarFeed",
        feed.pk,
        patient,
        request=request,
        role=role,
        replaces=old.pk if old is not None else None,
        show_names=feed.show_names,
    )
    return feed, raw


@transaction.atomic
def do_revoke_calendar_feed(
    patient: Patient, *, acting_user: User, role: str = "patient", request: HttpRequest | None = None
) -> CalendarFeed | None:
    """Turn the live link off (None when there was none)."""
    _lock_patient(patient)
    feed = live_feed(patient)
    if feed is None:
        return None
    feed.revoked_at = timezone.now()
    feed.save(update_fields=["revoked_at"])
    audit_patient_event(
        acting_user,
        Action.UPDATE,
        "CalendarFeed",
        feed.pk,
        patient,
        request=request,
        role=role,
        change="revoked",
    )
    return feed


@transaction.atomic
def do_set_calendar_feed_names(
    patient: Patient,
    show_names: bool,
    *,
    acting_user: User,
    role: str = "patient",
    request: HttpRequest | None = None,
) -> CalendarFeed | None:
    """Show or hide medication names in the live feed's titles (None when there is no feed)."""
    _lock_patient(patient)
    feed = live_feed(patient)
    if feed is None:
        return None
    if feed.show_names != show_names:
        feed.show_names = show_names
        feed.save(update_fields=["show_names"])
        audit_patient_event(
            acting_user,
            Action.UPDATE,
            "CalendarFeed",
            feed.pk,
            patient,
            request=request,
            role=role,
            show_names=show_names,
        )
    return feed


def audit_fetch(request: HttpRequest, feed: CalendarFeed | None, *, events: int = 0) -> None:
    """Every fetch of a feed URL, answered or refused. A refused one names the patient when the
    token was theirs once (someone still uses a revoked link), never any part of the token."""
    if feed is not None and is_live(feed):
        record_audit(
            actor=None,
            actor_label=FEED_ACTOR,
            # The patient's own subscription: kept out of their "who opened my record" page, which
            # calendar polling would flood (the calendar page shows when the link was last used).
            role="patient",
            action=Action.EXPORT,
            entity_type="CalendarFeed",
            entity_id=feed.pk,
            patient=feed.patient,
            organisation=feed.patient.organisation_id,
            request=request,
            extra={"events": events},
        )
        return
    record_audit(
        actor=None,
        actor_label=FEED_ACTOR,
        action=Action.DENIED,
        outcome=Outcome.DENIED,
        entity_type="CalendarFeed",
        entity_id=feed.pk if feed is not None else "",
        patient=feed.patient if feed is not None else None,
        request=request,
        extra={
            "reason": "unknown token"
            if feed is None
            else "revoked"
            if feed.revoked_at
            else "no portal access"
        },
    )
