"""Today's doses in the portal: one tap for taken, skipped (with a reason) or taken at another
time. Every tap carries an idempotency key, so a retry or a double tap records one dose."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.timezones import local_date
from tandem.medications.actions import MedicationError, describe, do_log_dose
from tandem.medications.models import Regimen, RegimenStatus, ScheduleKind
from tandem.medications.queries import doses_for_day
from tandem.patients.access import PatientGrant, access_own_patient


def _rows(grant: PatientGrant, now: datetime) -> list[dict[str, Any]]:
    patient = grant.patient
    today = local_date(now, patient.time_zone)
    rows = []
    for row in doses_for_day(patient, today):
        rows.append(
            {
                "row": row,
                "key": secrets.token_urlsafe(12),
                "what": describe(row.version),
                "local": timezone.localtime(row.due_at, patient.tz),
                "due_id": row.due_at.isoformat(),
            }
        )
    return rows


def _context(grant: PatientGrant, error: str | None = None) -> dict[str, Any]:
    now = timezone.now()
    prn = [
        {"regimen": r, "what": describe(r.current), "key": secrets.token_urlsafe(12)}
        for r in Regimen.objects.filter(
            patient=grant.patient, status=RegimenStatus.ACTIVE, current__schedule_kind=ScheduleKind.AS_NEEDED
        ).select_related("current")
        if r.current is not None
    ]
    return {
        "patient": grant.patient,
        "rows": _rows(grant, now),
        "prn": prn,
        "error": error,
        "today": local_date(now, grant.patient.time_zone),
    }


@login_required
def doses(request: AuthenticatedHttpRequest) -> HttpResponse:
    grant = access_own_patient(request, entity="MedicationAdministration")
    return render(request, "portal/doses.html", _context(grant))


@login_required
@require_POST
def log_dose(request: AuthenticatedHttpRequest) -> HttpResponse:
    grant = access_own_patient(request, entity="MedicationAdministration", audit_read=False)
    patient = grant.patient
    regimen_id = request.POST.get("regimen", "")
    regimen = (
        Regimen.objects.filter(pk=int(regimen_id), patient=patient).first()
        if regimen_id.isdigit() and len(regimen_id) < 19
        else None
    )
    error = None
    if regimen is None:
        error = "This medication is not on your list."
    else:
        raw_due = request.POST.get("due_at", "")
        due_at = parse_datetime(raw_due) if raw_due else None
        if raw_due and due_at is None:
            error = "Due at: not a time."
        taken_at = None
        taken_local = request.POST.get("taken_time", "")
        if taken_local and error is None:
            try:
                hours, minutes = taken_local.split(":")
                base = timezone.localtime(due_at or timezone.now(), patient.tz)
                taken_at = base.replace(hour=int(hours), minute=int(minutes), second=0, microsecond=0)
            except ValueError:
                error = "Taken at: enter the time you took it, like 09:30."
        if error is None:
            try:
                do_log_dose(
                    patient,
                    regimen,
                    status=request.POST.get("status", ""),
                    due_at=due_at,
                    taken_at=taken_at,
                    reason=request.POST.get("reason", ""),
                    idempotency_key=request.POST.get("key", ""),
                    acting_user=request.user,
                    request=request,
                )
            except MedicationError as exc:
                error = f"{exc.field.replace('_', ' ').capitalize()}: {exc}."
    if request.htmx:
        return render(request, "portal/_dose_list.html", _context(grant, error), status=400 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Recorded. Thank you.")
    return redirect("portal:doses")
