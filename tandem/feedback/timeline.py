"""Timeline source of feedback (consent category "therapy summaries"): the patient's daily
check-ins, with their mood, anxiety and sleep (not the note).

Visit feedback is deliberately NOT a timeline source, not even as "feedback was given": the
timeline is shown to the whole team, and visit feedback is for the visit's clinician and the
care manager(s) alone (tandem.feedback.access).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from tandem.feedback.models import CheckIn
from tandem.lib.timeline import QuerySource, TimelineEvent, register
from tandem.patients.models import Category, Patient


def describe_checkin(row: CheckIn) -> str:
    parts = []
    if row.mood is not None:
        parts.append(f"mood {row.mood}/10")
    if row.anxiety is not None:
        parts.append(f"anxiety {row.anxiety}/10")
    if row.sleep_hours is not None:
        parts.append(f"slept {row.sleep_hours:g} h")
    return ", ".join(parts) or "a note only"


class CheckedIn(QuerySource):
    kind, label, category = "checkin", "Check-ins", Category.THERAPY_SUMMARIES
    timestamp = "updated_at"

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return CheckIn.objects.filter(patient=patient).select_related("patient")

    def event(self, row: CheckIn) -> TimelineEvent:
        return TimelineEvent(
            at=row.updated_at,
            kind=self.kind,
            title=f"Check-in for {row.day:%d %b}: {describe_checkin(row)}",
            actor=row.patient.name,
            link=reverse("feedback:checkins", kwargs={"patient_id": row.patient_id}),
        )


register(CheckedIn())
