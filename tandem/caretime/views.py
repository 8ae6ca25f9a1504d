"""/patients/<id>/care-time/…: a patient's logged minutes by month, the codes they support, the
log form, corrections of one's own entries within the month, and the month as CSV."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from tandem.audit.actions import audit_patient_event
from tandem.audit.models import Action
from tandem.caretime import access, actions, report, rules
from tandem.caretime.csvout import csv_response
from tandem.caretime.models import MAX_MINUTES, NOTE_MAX, Activity, TimeEntry
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.patients.access import PatientGrant
from tandem.patients.views import patient_tabs

FIELDS = ("activity", "day", "minutes", "note")


def _month_param(request: HttpRequest, today: date) -> tuple[date, str | None]:
    raw = request.GET.get("month", "").strip()
    if not raw:
        return report.month_start(today), None
    try:
        month = report.parse_month(raw)
    except ValueError:
        return report.month_start(today), "month: enter a month like 2025-03"
    if month > report.month_start(today):
        return report.month_start(today), "month: that month has not started yet for this patient"
    return month, None


@login_required
def month(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_caretime_patient(request, patient_id)
    today = actions.patient_today(grant.patient)
    chosen, error = _month_param(request, today)
    return _page(request, grant, chosen, month_error=error, status=400 if error else 200)


@login_required
def month_csv(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_caretime_patient(request, patient_id, need="export")
    patient = grant.patient
    chosen, error = _month_param(request, actions.patient_today(patient))
    if error:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    pm = report.patient_month(patient.pk, chosen)
    entries = list(_entries(patient.pk, chosen))
    audit_patient_event(
        request.user,
        Action.EXPORT,
        access.ENTITY,
        patient.pk,
        patient,
        request=request,
        role=grant.role,
        month=chosen.strftime("%Y-%m"),
        format="csv",
    )
    rows: list[list[object]] = [
        [e.day.isoformat(), e.user.display_name, e.role_label, e.get_activity_display(), e.minutes, e.note]
        for e in entries
    ]
    rows.append([])
    rows.append(["care-manager minutes", pm.cocm_minutes])
    rows.append(["all clinical staff minutes", pm.all_minutes])
    rows.append(
        ["first month of collaborative care", pm.first_month.strftime("%Y-%m") if pm.first_month else ""]
    )
    for line in pm.codes:
        rows.append(["code", line.code, "units", line.units, line.rule, line.caveat])
    rows.append(["thresholds", report.thresholds().source])
    name = f"care-time-{patient.mrn}-{chosen.strftime('%Y-%m')}.csv"
    return csv_response(name, ["date", "by", "role", "activity", "minutes", "note"], rows)


@login_required
@require_POST
def log(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_caretime_patient(request, patient_id, need="log")
    typed = {name: request.POST.get(name, "") for name in FIELDS}
    try:
        entry, created = actions.do_log_time(
            grant.patient,
            data=typed,
            idempotency_key=request.POST.get("idempotency_key", ""),
            acting_user=request.user,
            role=grant.role,
            request=request,
        )
    except actions.CareTimeError as exc:
        today = actions.patient_today(grant.patient)
        return _page(
            request, grant, report.month_start(today), errors={exc.field: str(exc)}, typed=typed, status=400
        )
    messages.success(request, "Time logged." if created else "Already logged.")
    url = reverse("caretime:month", kwargs={"patient_id": grant.patient.pk})
    return redirect(f"{url}?month={entry.month.strftime('%Y-%m')}")


@login_required
def edit(request: AuthenticatedHttpRequest, patient_id: int, entry_id: int) -> HttpResponse:
    grant = access.access_caretime_patient(request, patient_id, need="edit")
    entry = access.access_own_entry(grant, request, entry_id)
    today = actions.patient_today(grant.patient)
    closed = not actions.may_change(entry, request.user, today)
    typed = {
        "activity": entry.activity,
        "day": entry.day.isoformat(),
        "minutes": str(entry.minutes),
        "note": entry.note,
    }
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        typed = {name: request.POST.get(name, "") for name in FIELDS}
        try:
            actions.do_edit_time(
                entry, data=typed, acting_user=request.user, role=grant.role, request=request
            )
        except actions.CareTimeError as exc:
            errors, status = {exc.field: str(exc)}, 400
        else:
            messages.success(request, "Entry corrected.")
            return redirect(_month_url(grant, entry.month))
    context = {**_base(grant), "entry": entry, "typed": typed, "errors": errors, "closed": closed}
    context["other_errors"] = [m for f, m in errors.items() if f not in FIELDS]
    return render(request, "caretime/edit.html", context, status=status)


@login_required
@require_POST
def delete(request: AuthenticatedHttpRequest, patient_id: int, entry_id: int) -> HttpResponse:
    grant = access.access_caretime_patient(request, patient_id, need="delete")
    entry = access.access_own_entry(grant, request, entry_id)
    month_of = entry.month
    try:
        actions.do_delete_time(entry, acting_user=request.user, role=grant.role, request=request)
    except actions.CareTimeError as exc:
        messages.error(request, f"{str(exc).capitalize()}.")
        return redirect(_month_url(grant, month_of))
    messages.success(request, "Entry removed.")
    return redirect(_month_url(grant, month_of))


def _month_url(grant: PatientGrant, month_of: date) -> str:
    url = reverse("caretime:month", kwargs={"patient_id": grant.patient.pk})
    return f"{url}?month={month_of.strftime('%Y-%m')}"


def _entries(patient_id: int, month_of: date) -> Any:
    return TimeEntry.objects.filter(patient_id=patient_id, month=month_of).select_related("user")


def _base(grant: PatientGrant) -> dict[str, Any]:
    return {
        "grant": grant,
        "patient": grant.patient,
        "tabs": patient_tabs(grant),
        "tab": "care_time",
        "age": grant.patient.age_on(timezone.localdate()),
        "activities": Activity.choices,
        "max_minutes": MAX_MINUTES,
        "note_max": NOTE_MAX,
    }


def _page(
    request: HttpRequest,
    grant: PatientGrant,
    chosen: date,
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    month_error: str | None = None,
    status: int = 200,
) -> HttpResponse:
    patient = grant.patient
    today = actions.patient_today(patient)
    pm = report.patient_month(patient.pk, chosen)
    current = report.month_start(today)
    entries = [
        {
            "entry": e,
            "mine": e.user_id == request.user.pk,
            "changeable": actions.may_change(e, request.user, today),
        }
        for e in _entries(patient.pk, chosen)
    ]
    errors = errors or {}
    t = report.thresholds()
    context = {
        **_base(grant),
        "pm": pm,
        "month": chosen,
        "current_month": current,
        "previous": report.previous_month(chosen),
        "next": report.next_month(chosen) if chosen < current else None,
        "entries": entries,
        "thresholds": t,
        "threshold_rows": _threshold_rows(t),
        "combination_notes": rules.COMBINATION_NOTES,
        "care_started": actions.care_started(patient),
        "typed": typed or {"day": today.isoformat()},
        "errors": errors,
        "other_errors": [m for f, m in errors.items() if f not in FIELDS],
        "month_error": month_error,
        "idempotency_key": uuid.uuid4().hex,
        "today": today,
    }
    return render(request, "caretime/month.html", context, status=status)


def _threshold_rows(t: rules.Thresholds) -> list[tuple[str, str]]:
    return [
        ("99492", f"≥ {t.initial_min} min in the first month (descriptor: first {t.initial_base} min)"),
        ("99493", f"≥ {t.subsequent_min} min in a later month (descriptor: first {t.subsequent_base} min)"),
        (
            "99494",
            f"each further {t.addon_block} min beyond {t.initial_base}/{t.subsequent_base}; a last part counts from {t.addon_min} min",
        ),
        ("G2214", f"≥ {t.g2214_min} min"),
        ("99484", f"≥ {t.bhi_min} min of clinical staff time"),
    ]
