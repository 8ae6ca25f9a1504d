"""Timeline sources of medications (consent category "medications"): side effects the patient
reported and the prescriber's responses."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from tandem.lib.timeline import QuerySource, TimelineEvent, display_name, register
from tandem.medications.models import SideEffectReport
from tandem.medications.side_effects import symptom_labels
from tandem.patients.models import Category, Patient


def _report_page(row: SideEffectReport) -> str:
    return reverse("medications:side_effect", kwargs={"patient_id": row.patient_id, "report_id": row.pk})


class SideEffectReported(QuerySource):
    kind, label, category = "side_effect", "Side effects", Category.MEDICATIONS
    timestamp = "reported_at"

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return SideEffectReport.objects.filter(patient=patient).select_related("patient", "regimen")

    def event(self, row: SideEffectReport) -> TimelineEvent:
        drug = row.regimen.drug_name if row.regimen else "medicine not named"
        symptoms = ", ".join(symptom_labels(row.symptoms)) or "no symptom ticked"
        return TimelineEvent(
            at=row.reported_at,
            kind=self.kind,
            title=f"Side effect reported ({drug}), triaged {row.severity}",
            detail=f"{symptoms}. FIBSER frequency {row.frequency}, intensity {row.intensity}, burden {row.burden}.",
            actor=row.patient.name,
            link=_report_page(row),
        )


class SideEffectAnswered(QuerySource):
    kind, label, category = "side_effect", "Side effects", Category.MEDICATIONS
    timestamp = "responded_at"

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return SideEffectReport.objects.filter(patient=patient).select_related("responded_by", "regimen")

    def event(self, row: SideEffectReport) -> TimelineEvent:
        assert row.responded_at is not None
        drug = row.regimen.drug_name if row.regimen else "medicine not named"
        return TimelineEvent(
            at=row.responded_at,
            kind=self.kind,
            title=f"Prescriber responded to a side effect ({drug}): {row.get_response_display().lower()}",
            detail=row.response_note[:300],
            actor=display_name(row.responded_by),
            link=_report_page(row),
        )


for source in (SideEffectReported(), SideEffectAnswered()):
    register(source)
