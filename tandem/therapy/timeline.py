"""Timeline sources of sessions (consent category "therapy_summaries"): sessions attended or
missed, at their time, and cancellations, when they were made."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from tandem.lib.timeline import QuerySource, TimelineEvent, display_name, register
from tandem.patients.models import Category, Patient
from tandem.therapy.models import Session, SessionStatus


def _page(row: Session) -> str:
    return reverse("therapy:session", kwargs={"patient_id": row.patient_id, "session_id": row.pk})


class SessionHeld(QuerySource):
    kind, label, category = "session", "Sessions", Category.THERAPY_SUMMARIES
    timestamp = "starts_at"

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return Session.objects.filter(
            patient=patient,
            status__in=[SessionStatus.ATTENDED, SessionStatus.NO_SHOW],
            starts_at__lte=timezone.now(),
        ).select_related("clinician")

    def event(self, row: Session) -> TimelineEvent:
        what = "attended" if row.status == SessionStatus.ATTENDED else "missed (no-show)"
        return TimelineEvent(
            at=row.starts_at,
            kind=self.kind,
            title=f"{row.get_kind_display()} {what}",
            detail=f"With {display_name(row.clinician)}, {row.duration_minutes} minutes",
            actor=display_name(row.clinician),
            link=_page(row),
        )


class SessionCancelled(QuerySource):
    kind, label, category = "session", "Sessions", Category.THERAPY_SUMMARIES
    timestamp = "status_changed_at"

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return Session.objects.filter(
            patient=patient, status__in=[SessionStatus.CANCELLED, SessionStatus.LATE_CANCELLED]
        ).select_related("status_changed_by", "patient")

    def event(self, row: Session) -> TimelineEvent:
        assert row.status_changed_at is not None
        late = row.status == SessionStatus.LATE_CANCELLED
        when = timezone.localtime(row.starts_at, row.patient.tz)
        return TimelineEvent(
            at=row.status_changed_at,
            kind=self.kind,
            title=f"{row.get_kind_display()} of {when:%a %d %b %H:%M} {'late-cancelled' if late else 'cancelled'}",
            detail=row.status_reason,
            actor=display_name(row.status_changed_by),
            link=_page(row),
        )


for source in (SessionHeld(), SessionCancelled()):
    register(source)
