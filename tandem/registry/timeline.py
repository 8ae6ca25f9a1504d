"""Timeline sources of case review (consent category "plan"): review requests and the
consultant's recommendations, with the status of the hand-off each became."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from tandem.lib.timeline import QuerySource, TimelineEvent, display_name, register
from tandem.patients.models import Category, Patient
from tandem.registry.models import Recommendation, ReviewRequest


def _review_page(patient_id: int) -> str:
    return reverse("registry:patient_review", kwargs={"patient_id": patient_id})


class ReviewRequested(QuerySource):
    kind, label, category = "case_review", "Case review", Category.PLAN
    timestamp = "requested_at"

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return ReviewRequest.objects.filter(patient=patient).select_related("requested_by")

    def event(self, row: ReviewRequest) -> TimelineEvent:
        return TimelineEvent(
            at=row.requested_at,
            kind=self.kind,
            title=f"Case review requested for the week of {row.week:%-d %b %Y}",
            detail=row.reason[:300],
            actor=display_name(row.requested_by),
            link=_review_page(row.patient_id),
        )


class RecommendationRecorded(QuerySource):
    kind, label, category = "case_review", "Case review", Category.PLAN

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return Recommendation.objects.filter(patient=patient).select_related(
            "consultant", "recipient", "handoff"
        )

    def event(self, row: Recommendation) -> TimelineEvent:
        status = row.handoff.get_status_display().lower() if row.handoff else "not sent"
        return TimelineEvent(
            at=row.created_at,
            kind=self.kind,
            title=f"Case-review recommendation ({row.get_area_display().lower()}) to "
            f"{row.recipient.display_name}: {status}",
            detail=row.text[:300],
            actor=display_name(row.consultant),
            link=_review_page(row.patient_id),
        )


register(ReviewRequested())
register(RecommendationRecorded())
