"""Timeline sources of the treatment plan and the safety documents (consent category "plan").

Plan status changes come from the plan's own timestamps: revision 1 is the plan's start, then
`activated_at`/`activated_by` and `ended_at`/`ended_by`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from tandem.lib.timeline import QuerySource, TimelineEvent, display_name, register
from tandem.patients.models import Category, Patient
from tandem.plans.models import (
    PatientAgreement,
    PlanProposal,
    PlanQuestion,
    PlanRevision,
    SafetyRevision,
    TreatmentPlan,
)
from tandem.plans.schema import SECTIONS


def _plan_page(patient_id: int) -> str:
    return reverse("plans:plan", kwargs={"patient_id": patient_id})


def _sections(names: list[str]) -> str:
    return ", ".join(SECTIONS.get(name, name).lower() for name in names)


class PlanRevisions(QuerySource):
    kind, label, category = "plan_revision", "Plan changes", Category.PLAN

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return PlanRevision.objects.filter(plan__patient=patient).select_related("plan", "author")

    def event(self, row: PlanRevision) -> TimelineEvent:
        plan = row.plan
        ids = {"patient_id": plan.patient_id, "plan_id": plan.pk}
        if row.number == 1:
            title = f"{plan.title} started as a draft"
            link = reverse("plans:revision", kwargs={**ids, "number": 1})
        else:
            title = f"{plan.title} changed (revision {row.number})"
            link = reverse("plans:diff", kwargs=ids) + f"?from={row.number - 1}&to={row.number}"
        reason = row.reason.strip().rstrip(".")
        parts = [
            f"{reason}." if reason else "",
            f"Changed: {_sections(row.changed_sections)}." if row.changed_sections else "",
            f"Restored revision {row.restored_from}." if row.restored_from else "",
        ]
        return TimelineEvent(
            at=row.created_at,
            kind=self.kind,
            title=title,
            detail=" ".join(p for p in parts if p),
            actor=display_name(row.author),
            link=link,
        )


class PlanActivated(QuerySource):
    kind, label, category = "plan_status", "Plan status", Category.PLAN
    timestamp = "activated_at"

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return TreatmentPlan.objects.filter(patient=patient).select_related("activated_by")

    def event(self, row: TreatmentPlan) -> TimelineEvent:
        assert row.activated_at is not None
        return TimelineEvent(
            at=row.activated_at,
            kind=self.kind,
            actor=display_name(row.activated_by),
            title=f"{row.title} became the active plan",
            link=_plan_page(row.patient_id),
        )


class PlanEnded(QuerySource):
    kind, label, category = "plan_status", "Plan status", Category.PLAN
    timestamp = "ended_at"

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return TreatmentPlan.objects.filter(patient=patient).select_related("ended_by")

    def event(self, row: TreatmentPlan) -> TimelineEvent:
        assert row.ended_at is not None
        return TimelineEvent(
            at=row.ended_at,
            kind=self.kind,
            actor=display_name(row.ended_by),
            title=f"{row.title} was {row.get_status_display().lower()}",
            detail=row.end_reason,
            link=_plan_page(row.patient_id),
        )


class ProposalMade(QuerySource):
    kind, label, category = "plan_proposal", "Proposals", Category.PLAN

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return PlanProposal.objects.filter(plan__patient=patient).select_related("plan", "proposer")

    def event(self, row: PlanProposal) -> TimelineEvent:
        return TimelineEvent(
            at=row.created_at,
            kind=self.kind,
            title=f"Change proposed to the {_sections([row.section])} of {row.plan.title}",
            detail=row.reason,
            actor=display_name(row.proposer),
            link=_plan_page(row.plan.patient_id),
        )


class ProposalDecided(QuerySource):
    kind, label, category = "plan_proposal", "Proposals", Category.PLAN
    timestamp = "decided_at"

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return PlanProposal.objects.filter(plan__patient=patient).select_related(
            "plan", "decided_by", "resulting_revision"
        )

    def event(self, row: PlanProposal) -> TimelineEvent:
        assert row.decided_at is not None
        result = f" (revision {row.resulting_revision.number})" if row.resulting_revision else ""
        return TimelineEvent(
            at=row.decided_at,
            kind=self.kind,
            title=f"Proposal for the {_sections([row.section])} {row.get_status_display().lower()}{result}",
            detail=row.decision_note,
            actor=display_name(row.decided_by),
            link=_plan_page(row.plan.patient_id),
        )


class PatientAgreed(QuerySource):
    kind, label, category = "plan_patient", "The patient's agreement and questions", Category.PLAN
    timestamp = "agreed_at"

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return PatientAgreement.objects.filter(patient=patient).select_related("revision__plan", "patient")

    def event(self, row: PatientAgreement) -> TimelineEvent:
        plan = row.revision.plan
        return TimelineEvent(
            at=row.agreed_at,
            kind=self.kind,
            title=f"The patient agreed to {plan.title} (revision {row.revision.number})",
            actor=row.patient.name,
            link=reverse(
                "plans:revision",
                kwargs={"patient_id": plan.patient_id, "plan_id": plan.pk, "number": row.revision.number},
            ),
        )


class QuestionAsked(QuerySource):
    kind, label, category = "plan_patient", "The patient's agreement and questions", Category.PLAN

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return PlanQuestion.objects.filter(patient=patient).select_related("patient")

    def event(self, row: PlanQuestion) -> TimelineEvent:
        return TimelineEvent(
            at=row.created_at,
            kind=self.kind,
            title="The patient asked a question about the plan",
            detail=row.text[:300],
            actor=row.patient.name,
            link=_plan_page(row.patient_id),
        )


class QuestionAnswered(QuerySource):
    kind, label, category = "plan_patient", "The patient's agreement and questions", Category.PLAN
    timestamp = "answered_at"

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return PlanQuestion.objects.filter(patient=patient).select_related("answered_by")

    def event(self, row: PlanQuestion) -> TimelineEvent:
        assert row.answered_at is not None
        return TimelineEvent(
            at=row.answered_at,
            kind=self.kind,
            title="The patient's question was answered",
            detail=row.answer[:300],
            actor=display_name(row.answered_by),
            link=_plan_page(row.patient_id),
        )


class SafetyRevisions(QuerySource):
    kind, label, category = "safety_plan", "Safety and relapse-prevention plans", Category.PLAN

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return SafetyRevision.objects.filter(document__patient=patient).select_related("document", "author")

    def event(self, row: SafetyRevision) -> TimelineEvent:
        name = row.document.get_kind_display()
        verb = "written" if row.number == 1 else f"updated (revision {row.number})"
        return TimelineEvent(
            at=row.created_at,
            kind=self.kind,
            title=f"{name} {verb}",
            detail=row.reason,
            actor=display_name(row.author),
            link=reverse(
                "plans:safety", kwargs={"patient_id": row.document.patient_id, "kind": row.document.kind}
            )
            + f"?revision={row.number}",
        )


for source in (
    PlanRevisions(),
    PlanActivated(),
    PlanEnded(),
    ProposalMade(),
    ProposalDecided(),
    PatientAgreed(),
    QuestionAsked(),
    QuestionAnswered(),
    SafetyRevisions(),
):
    register(source)
