"""Timeline sources of medications (consent category "medications"): side effects the patient
reported and the prescriber's responses."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from tandem.lib.timeline import QuerySource, TimelineEvent, display_name, register
from tandem.medications.models import LabResult, RegimenVersion, SideEffectReport
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


class MedicationChanged(QuerySource):
    """Every start, change, hold and stop, with its reason (and an override when checks were overridden)."""

    kind, label, category = "medication", "Medication changes", Category.MEDICATIONS
    timestamp = "effective_at"

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return RegimenVersion.objects.filter(regimen__patient=patient).select_related("regimen", "author")

    def event(self, row: RegimenVersion) -> TimelineEvent:
        from tandem.medications.actions import describe

        detail = row.reason + (f" — override: {row.override_reason}" if row.override_reason else "")
        return TimelineEvent(
            at=row.effective_at,
            kind=self.kind,
            title=f"{row.regimen.drug_name}: {row.get_kind_display().lower()} — {describe(row)}",
            detail=detail,
            actor=display_name(row.author),
            link=reverse(
                "medications:detail",
                kwargs={"patient_id": row.regimen.patient_id, "regimen_id": row.regimen_id},
            ),
        )


class LabRecorded(QuerySource):
    kind, label, category = "lab", "Labs", Category.MEDICATIONS
    timestamp = "observed_at"

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return LabResult.objects.filter(patient=patient).select_related("entered_by")

    def event(self, row: LabResult) -> TimelineEvent:
        flag = f" ({row.flag})" if row.flag and row.flag != "normal" else ""
        return TimelineEvent(
            at=row.observed_at,
            kind=self.kind,
            title=f"{row.kind.replace('_', ' ')}: {row.value.normalize():f} {row.unit}{flag}",
            actor=display_name(row.entered_by),
            link=reverse("medications:labs", kwargs={"patient_id": row.patient_id}),
        )


for source in (SideEffectReported(), SideEffectAnswered(), MedicationChanged(), LabRecorded()):
    register(source)
