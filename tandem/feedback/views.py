"""Clinician pages: visit feedback (the viewer's own clinician-patient pair, or every pair for a
care manager) and the patient's check-ins with their visits."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from tandem.feedback import rules
from tandem.feedback.access import access_checkins_patient, access_feedback_patient, visible_feedback
from tandem.feedback.charts import CHECKIN_WEEKS, checkin_chart, checkin_period, pair_chart
from tandem.feedback.instrument import RATING_IDS, TEXT_IDS, visit_feedback
from tandem.feedback.models import CheckIn, FeedbackStatus, VisitFeedback
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.timezones import local_date
from tandem.patients.access import PatientGrant
from tandem.patients.views import patient_tabs

ROWS_SHOWN = 300
CHECKINS_SHOWN = 60


def _base(grant: PatientGrant, **extra: Any) -> dict[str, Any]:
    return {
        "grant": grant,
        "patient": grant.patient,
        "tabs": patient_tabs(grant),
        "tab": "therapy",
        "age": grant.patient.age_on(timezone.localdate()),
        **extra,
    }


@login_required
def feedback_list(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    viewer = access_feedback_patient(request, patient_id)
    patient = viewer.patient
    rows = list(visible_feedback(viewer).select_related("clinician").order_by("-visit_at")[:ROWS_SHOWN])
    skipped_rows = VisitFeedback.objects.filter(
        patient=patient, status__in=[FeedbackStatus.NOT_NOW, FeedbackStatus.DECLINED]
    )
    if not viewer.all_pairs:
        skipped_rows = skipped_rows.filter(clinician_id=viewer.user_id)
    skipped = {
        r["clinician_id"]: r["n"]
        for r in skipped_rows.values("clinician_id").annotate(n=Count("id")).order_by()
    }
    instrument = visit_feedback()
    pairs: dict[int, dict[str, Any]] = {}
    for row in rows:
        pair = pairs.setdefault(row.clinician_id, {"clinician": row.clinician, "rows": []})
        pair["rows"].append(
            {
                "fb": row,
                "local": timezone.localtime(row.visit_at, patient.tz),
                "ratings": [(instrument.item(n).short, getattr(row, n)) for n in RATING_IDS],
                "texts": [(instrument.item(n).short, getattr(row, n)) for n in TEXT_IDS if getattr(row, n)],
            }
        )
    ordered = sorted(
        pairs.values(), key=lambda p: (p["clinician"].pk != viewer.user_id, p["clinician"].full_name)
    )
    for pair in ordered:
        pair["chart"] = pair_chart(
            [r["fb"] for r in pair["rows"]], patient.time_zone, pair["clinician"].display_name
        )
        pair["chart_id"] = f"pair-chart-{pair['clinician'].pk}"
        pair["flagged"] = sum(1 for r in pair["rows"] if r["fb"].findings)
        pair["skipped"] = skipped.get(pair["clinician"].pk, 0)
    context = _base(
        viewer.grant,
        pairs=ordered,
        all_pairs=viewer.all_pairs,
        headings=[instrument.item(n).short for n in RATING_IDS],
        instrument=instrument,
        rules=rules,
        skipped_only=[(cid, n) for cid, n in skipped.items() if cid not in pairs],
    )
    return render(request, "feedback/list.html", context)


@login_required
def checkins(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access_checkins_patient(request, patient_id)
    patient = grant.patient
    today = local_date(timezone.now(), patient.tz)
    start, end = checkin_period(today)
    recent = list(CheckIn.objects.filter(patient=patient, day__gte=start).order_by("-day")[:CHECKINS_SHOWN])
    context = _base(
        grant,
        chart=checkin_chart(patient, start, end),
        recent=recent,
        start=start,
        end=end,
        weeks=CHECKIN_WEEKS,
    )
    return render(request, "feedback/checkins.html", context)
