"""Sessions in the patient's calendar feed (the registry: tandem/medications/calendar.py).

One event per session in the feed's days, with a display alarm two hours before a session still
to come. Titles are "Appointment" unless the patient chose to show names ("Therapy session with
Dana Whitfield"), and the place or video link is only written then: a calendar is often shared,
synced to other companies and shown on a lock screen. A cancelled session is left out, so the
calendar drops it at its next refresh. The UID stays the same when a session is moved, so the
event moves instead of being duplicated. Two queries whatever the number of sessions.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from urllib.parse import urlparse

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import salted_hmac

from tandem.lib.timezones import at_local
from tandem.medications.calendar import CalendarEvent, FeedOptions, FeedSource, register
from tandem.patients.models import Patient
from tandem.therapy.models import Session, SessionStatus, Setting

PRIVATE_TITLE = "Appointment"


def session_uid(session_id: int) -> str:
    digest = salted_hmac("tandem.calendar.session", str(session_id)).hexdigest()[:32]
    return f"session-{digest}@{urlparse(settings.SITE_URL).hostname or 'tandem'}"


def _where(session: Session) -> str:
    if session.setting == Setting.TELEHEALTH:
        return f"Video: {session.telehealth_url}"
    if session.setting == Setting.PHONE:
        return "By telephone"
    return session.place


class SessionSource(FeedSource):
    key = "sessions"

    def events(self, patient: Patient, options: FeedOptions) -> list[CalendarEvent]:
        start = at_local(options.first_day, time.min, patient.tz)
        end = at_local(options.last_day + timedelta(days=1), time.min, patient.tz)
        rows = Session.objects.filter(patient=patient, starts_at__gte=start, starts_at__lt=end).exclude(
            status__in=[SessionStatus.CANCELLED, SessionStatus.LATE_CANCELLED]
        )
        if options.show_names:
            rows = rows.select_related("clinician")
        link = f"{options.site_url}{reverse('portal_therapy:sessions')}"
        events = []
        for session in rows.order_by("starts_at", "pk"):
            if options.show_names:
                summary = f"{session.get_kind_display()} with {session.clinician.display_name}"
                where = _where(session)
                description = (f"{where}\n\n" if where else "") + f"Details in Tandem: {link}"
            else:
                summary = PRIVATE_TITLE
                description = f"Details in Tandem: {link}"
            events.append(
                CalendarEvent(
                    uid=session_uid(session.pk),
                    start=session.starts_at,
                    end=session.ends_at,
                    summary=summary,
                    description=description,
                    url=link,
                    alarm=_alarm(session.starts_at, options.now),
                )
            )
        return events


def _alarm(starts_at: datetime, now: datetime) -> bool:
    return starts_at >= now  # no alarms for the past: some clients replay them


register(SessionSource())
