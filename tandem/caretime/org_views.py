"""Care time across patients, by month: the organisation's report (its admin) and "my care time"
(a clinician's own care-team patients), each as a page and as CSV.

The month is each patient's own calendar month ("2025-03" means March in the patient's zone).
Reading either report is audited once, with the ids of the patients it showed.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from tandem.accounts.access import primary_role
from tandem.audit.actions import record_audit
from tandem.audit.models import Action
from tandem.caretime import access, report, rules
from tandem.caretime.csvout import csv_response
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.pagination import paginate
from tandem.patients.models import Patient

ENTITY = "CareTimeReport"
PER_PAGE = 100
HEADER = [
    "patient",
    "mrn",
    "month",
    "first month",
    "care-manager minutes",
    "other clinical staff minutes",
    "codes supported",
    "needs checking",
]


def _month_param(request: HttpRequest) -> tuple[date, str | None]:
    this_month = report.month_start(timezone.localdate())
    raw = request.GET.get("month", "").strip()
    if not raw:
        return this_month, None
    try:
        return report.parse_month(raw), None
    except ValueError:
        return this_month, "month: enter a month like 2025-03"


def _rows(months: list[report.PatientMonth]) -> list[dict[str, Any]]:
    patients = Patient.objects.in_bulk([m.patient_id for m in months])
    rows = []
    for pm in months:
        patient = patients.get(pm.patient_id)
        if patient is None:
            continue
        rows.append({"patient": patient, "pm": pm, "unverified": any(c.unverified for c in pm.codes)})
    rows.sort(key=_sort_key)
    return rows


def _sort_key(row: dict[str, Any]) -> tuple[str, str, int]:
    patient: Patient = row["patient"]
    return (patient.family_name, patient.given_name, patient.pk)


def _summary(rows: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        for line in row["pm"].codes:
            counts[line.code] = counts.get(line.code, 0) + line.units
    return dict(sorted(counts.items()))


def _audit(
    request: AuthenticatedHttpRequest, action: str, org_id: int | None, month: date, ids: list[int]
) -> None:
    record_audit(
        actor=request.user,
        action=action,
        entity_type=ENTITY,
        role=primary_role(request.user),
        organisation=org_id,
        request=request,
        extra={"month": month.strftime("%Y-%m"), "patient_ids": ids},
    )


def _csv(rows: list[dict[str, Any]], month: date, filename: str) -> HttpResponse:
    lines = [
        [
            r["patient"].sort_name,
            r["patient"].mrn,
            month.strftime("%Y-%m"),
            "yes" if r["pm"].is_first_month else "no",
            r["pm"].cocm_minutes,
            r["pm"].other_minutes,
            r["pm"].code_summary,
            "yes" if r["unverified"] else "",
        ]
        for r in rows
    ]
    lines.append(["thresholds", report.thresholds().source])
    return csv_response(filename, HEADER, lines)


def _render(
    request: AuthenticatedHttpRequest, *, scope: str, org_id: int | None, months_of: Any, csv_name: str
) -> HttpResponse:
    month, error = _month_param(request)
    rows = _rows(months_of(month))
    page = paginate(request, rows, per_page=PER_PAGE)
    _audit(request, Action.READ, org_id, month, [r["patient"].pk for r in page.object_list])
    context = {
        "scope": scope,
        "month": month,
        "previous": report.previous_month(month),
        "next": report.next_month(month),
        "page": page,
        "count": len(rows),
        "summary": _summary(rows),
        "thresholds": report.thresholds(),
        "combination_notes": rules.COMBINATION_NOTES,
        "month_error": error,
        "csv_name": csv_name,
    }
    return render(request, "caretime/report.html", context, status=400 if error else 200)


@login_required
def org_report(request: AuthenticatedHttpRequest) -> HttpResponse:
    org = access.access_org_report(request)
    return _render(
        request,
        scope="organisation",
        org_id=org.pk,
        months_of=lambda m: report.months_for(None, m, organisation_id=org.pk),
        csv_name="caretime:org_report_csv",
    )


@login_required
def org_report_csv(request: AuthenticatedHttpRequest) -> HttpResponse:
    org = access.access_org_report(request)
    month, error = _month_param(request)
    if error:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    rows = _rows(report.months_for(None, month, organisation_id=org.pk))
    _audit(request, Action.EXPORT, org.pk, month, [r["patient"].pk for r in rows])
    return _csv(rows, month, f"care-time-{org.slug}-{month.strftime('%Y-%m')}.csv")


@login_required
def my_report(request: AuthenticatedHttpRequest) -> HttpResponse:
    patients = access.access_caseload_report(request)
    return _render(
        request,
        scope="mine",
        org_id=None,
        months_of=lambda m: report.months_for(patients.values_list("id", flat=True), m),
        csv_name="caretime:my_report_csv",
    )


@login_required
def my_report_csv(request: AuthenticatedHttpRequest) -> HttpResponse:
    patients = access.access_caseload_report(request)
    month, error = _month_param(request)
    if error:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    rows = _rows(report.months_for(patients.values_list("id", flat=True), month))
    _audit(request, Action.EXPORT, None, month, [r["patient"].pk for r in rows])
    return _csv(rows, month, f"my-care-time-{month.strftime('%Y-%m')}.csv")
