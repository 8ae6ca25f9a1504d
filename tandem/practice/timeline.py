"""Timeline source of skills practice (consent category "therapy summaries"): each sent entry,
by its worksheet's title only. What the patient wrote stays on the practice pages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from tandem.lib.timeline import QuerySource, TimelineEvent, register
from tandem.patients.models import Category, Patient
from tandem.practice.models import Entry, EntryStatus


class PracticeSubmitted(QuerySource):
    kind, label, category = "practice", "Skills practice", Category.THERAPY_SUMMARIES
    timestamp = "submitted_at"

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return (
            Entry.objects.filter(patient=patient, status=EntryStatus.SUBMITTED)
            .select_related("assignment", "patient")
            .only(
                "pk",
                "patient_id",
                "submitted_at",
                "entry_date",
                "assignment__title",
                "patient__given_name",
                "patient__family_name",
                "patient__preferred_name",
            )
        )

    def event(self, row: Entry) -> TimelineEvent:
        assert row.submitted_at is not None
        return TimelineEvent(
            at=row.submitted_at,
            kind=self.kind,
            title=f"{row.assignment.title} sent",
            actor=row.patient.name,
            link=reverse("practice:entry", kwargs={"patient_id": row.patient_id, "entry_id": row.pk}),
        )


register(PracticeSubmitted())
