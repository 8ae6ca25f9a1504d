"""The weekly case-review list, read from the record in a fixed number of queries.

The current week's list is built from the data as it is now, for the patients the viewer may
see: new patients (enrolled in the last 4 weeks), not improving (the measures app's
treat-to-target states: needs case review, early non-improvement, reliable deterioration), an
open safety flag, and patients a team member asked to review this week. A past week shows what
was recorded in it: the requests and the recommendations (with their hand-offs' status).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Min, QuerySet

from tandem.measures.models import TreatmentSignal
from tandem.measures.signals.rules import NOT_IMPROVING, STATE_LABELS
from tandem.patients.models import CareTeamMember, Patient, active_on
from tandem.registry.caseload import NEW_PATIENT_DAYS
from tandem.registry.models import Recommendation, ReviewRequest
from tandem.safety.models import FlagStatus, SafetyFlag

INSTRUMENT_LABELS = {"phq-9": "PHQ-9", "gad-7": "GAD-7"}


@dataclass
class Item:
    patient: Patient
    reasons: list[str] = field(default_factory=list)
    requests: list[ReviewRequest] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)


def review_list(patients: QuerySet[Patient], week: date, today: date) -> list[Item]:
    """`week`: a Monday. The current week (containing `today`) is computed; earlier ones are history."""
    ids = patients.values("id")
    items: dict[int, Item] = {}
    reasons: dict[int, list[str]] = defaultdict(list)
    current = week <= today < week + timedelta(days=7)
    if current:
        since = today - timedelta(days=NEW_PATIENT_DAYS - 1)
        for pid, enrolled in (
            CareTeamMember.objects.filter(active_on(today), patient_id__in=ids)
            .order_by()
            .values("patient_id")
            .annotate(enrolled=Min("start"))
            .filter(enrolled__gte=since)
            .values_list("patient_id", "enrolled")
        ):
            reasons[pid].append(f"New patient (enrolled {enrolled:%-d %b})")
        for pid, instrument, state in TreatmentSignal.objects.filter(
            patient_id__in=ids, state__in=NOT_IMPROVING
        ).values_list("patient_id", "instrument", "state"):
            reasons[pid].append(f"{INSTRUMENT_LABELS.get(instrument, instrument)}: {STATE_LABELS[state]}")
        for pid in SafetyFlag.objects.filter(patient_id__in=ids, status=FlagStatus.OPEN).values_list(
            "patient_id", flat=True
        ):
            reasons[pid].append("Open safety flag")
    requests = list(
        ReviewRequest.objects.filter(week=week, patient_id__in=ids).select_related("requested_by")
    )
    recommendations = list(
        Recommendation.objects.filter(week=week, patient_id__in=ids).select_related(
            "recipient", "handoff", "consultant"
        )
    )
    wanted = set(reasons) | {r.patient_id for r in requests} | {r.patient_id for r in recommendations}
    for patient in Patient.objects.filter(id__in=wanted).order_by("family_name", "given_name", "id"):
        items[patient.pk] = Item(patient, reasons=reasons.get(patient.pk, []))
    for r in requests:
        if r.patient_id in items:
            items[r.patient_id].requests.append(r)
    for rec in recommendations:
        if rec.patient_id in items:
            items[rec.patient_id].recommendations.append(rec)
    for item in items.values():
        if item.requests:
            item.reasons.append(
                "Requested by " + ", ".join(r.requested_by.display_name for r in item.requests)
            )
    return list(items.values())


def patient_history(patient: Patient) -> tuple[list[ReviewRequest], list[Recommendation]]:
    requests = list(ReviewRequest.objects.filter(patient=patient).select_related("requested_by"))
    recommendations = list(
        Recommendation.objects.filter(patient=patient).select_related("recipient", "handoff", "consultant")
    )
    return requests, recommendations
