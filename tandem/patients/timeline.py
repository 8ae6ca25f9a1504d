"""Timeline sources of the record itself: care team, consents, emergency access.

They need no consent category: anybody who may open the record sees who is on the team, what
is shared and who broke the glass (as the overview shows).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.models import Role
from tandem.lib.timeline import QuerySource, TimelineEvent, TimelineSource, display_name, register
from tandem.lib.timezones import day_bounds
from tandem.patients.models import BreakGlass, CareTeamMember, Consent, Patient


def _record(patient_id: int) -> str:
    return reverse("patients:detail", kwargs={"patient_id": patient_id})


def _role(role: str) -> str:
    return Role(role).label.lower() if role in Role.values else role


def _last_day_begun(before: datetime | None, tz: tzinfo) -> date:
    """The last local day that began strictly before `before` (or now, when None or later)."""
    now = timezone.now()
    until = min(before, now) if before is not None else now
    return (until - timedelta(microseconds=1)).astimezone(tz).date()


class TeamJoined(TimelineSource):
    """A member has access from the start of their first day (`start`, in the organisation's time
    zone like every access date), which may be before or after the day they were added; a
    first day still to come is not an event yet."""

    kind, label, category = "care_team", "Care team", None

    def events(self, patient: Patient, before: datetime | None, limit: int) -> list[TimelineEvent]:
        tz = timezone.get_current_timezone()
        rows = (
            CareTeamMember.objects.filter(patient=patient, start__lte=_last_day_begun(before, tz))
            .select_related("user", "organisation", "added_by")
            .order_by("-start", "-pk")[:limit]
        )
        return [
            TimelineEvent(
                at=day_bounds(row.start, tz)[0],
                kind=self.kind,
                title=f"{row.user.display_name} joined the care team as {_role(row.role)}",
                detail=f"{row.organisation.name}; added {row.created_at.astimezone(tz):%Y-%m-%d}",
                actor=display_name(row.added_by),
                link=_record(row.patient_id),
            )
            for row in rows
        ]


class TeamLeft(TimelineSource):
    """A member keeps access through the last day of their membership (`end`), so they leave at
    the following midnight; a leaving day still to come is not an event yet."""

    kind, label, category = "care_team", "Care team", None

    def events(self, patient: Patient, before: datetime | None, limit: int) -> list[TimelineEvent]:
        tz = timezone.get_current_timezone()
        # The following midnight must have begun: end + 1 day <= the last day begun.
        last_end = _last_day_begun(before, tz) - timedelta(days=1)
        rows = (
            CareTeamMember.objects.filter(patient=patient, end__isnull=False, end__lte=last_end)
            .select_related("user")
            .order_by("-end", "-pk")[:limit]
        )
        return [
            TimelineEvent(
                at=day_bounds(row.end, tz)[1],
                kind=self.kind,
                title=f"{row.user.display_name} left the care team ({_role(row.role)})",
                detail=f"Last day {row.end:%Y-%m-%d}",
                link=_record(row.patient_id),
            )
            for row in rows
            if row.end is not None
        ]


def _grantee(consent: Consent) -> str:
    return consent.grantee_label


class ConsentRecorded(QuerySource):
    kind, label, category = "consent", "Consents", None
    timestamp = "recorded_at"

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return Consent.objects.filter(patient=patient).select_related(
            "grantee_user", "grantee_organisation", "recorded_by"
        )

    def event(self, row: Consent) -> TimelineEvent:
        period = f"from {row.start:%Y-%m-%d}" + (f" to {row.end:%Y-%m-%d}" if row.end else "")
        return TimelineEvent(
            at=row.recorded_at,
            kind=self.kind,
            title=f"Consent recorded: {_grantee(row)} may see {', '.join(row.category_labels()).lower()}",
            detail=f"{period}{f'; purpose: {row.purpose}' if row.purpose else ''}",
            actor=display_name(row.recorded_by),
            link=_record(row.patient_id),
        )


class ConsentRevoked(QuerySource):
    kind, label, category = "consent", "Consents", None
    timestamp = "revoked_at"

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return Consent.objects.filter(patient=patient).select_related(
            "grantee_user", "grantee_organisation", "revoked_by"
        )

    def event(self, row: Consent) -> TimelineEvent:
        assert row.revoked_at is not None
        return TimelineEvent(
            at=row.revoked_at,
            kind=self.kind,
            title=f"Consent revoked: {_grantee(row)} no longer sees the record",
            detail=f"Reason: {row.revocation_reason}" if row.revocation_reason else "",
            actor=display_name(row.revoked_by),
            link=_record(row.patient_id),
        )


class BreakGlassOpened(QuerySource):
    kind, label, category = "break_glass", "Emergency access", None
    timestamp = "started_at"

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return BreakGlass.objects.filter(patient=patient).select_related("user")

    def event(self, row: BreakGlass) -> TimelineEvent:
        return TimelineEvent(
            at=row.started_at,
            kind=self.kind,
            title=f"{row.user.display_name} opened the record with emergency access",
            detail=f"Reason: {row.reason[:300]}",
            actor=row.user.display_name,
            link=_record(row.patient_id),
        )


for source in (TeamJoined(), TeamLeft(), ConsentRecorded(), ConsentRevoked(), BreakGlassOpened()):
    register(source)
