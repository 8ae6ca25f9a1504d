"""Systematic case review: this week's list (and earlier weeks'), a patient's review history,
"request a case review" and the consultant's recommendations."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tandem.accounts.access import primary_role
from tandem.accounts.models import Role
from tandem.audit.actions import record_audit
from tandem.audit.models import Action
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.patients.access import PatientGrant
from tandem.patients.models import CareTeamMember, active_on
from tandem.registry import access
from tandem.registry import review as review_lists
from tandem.registry.actions import (
    RECIPIENT_ROLES,
    RegistryError,
    do_record_recommendation,
    do_request_review,
    week_of,
)
from tandem.registry.models import Area


def _week(raw: str, this_week: date) -> tuple[date, str | None]:
    if not raw:
        return this_week, None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return this_week, "week: give a date like 2025-03-03"
    if day > this_week + timedelta(days=6):
        return this_week, "week: choose this week or an earlier one"
    return week_of(day), None


@login_required
@require_GET
def review_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    patients = access.access_caseload(request)
    today = timezone.localdate()
    this_week = week_of(today)
    week, error = _week(request.GET.get("week", "").strip(), this_week)
    items = review_lists.review_list(patients, week, today)
    record_audit(
        actor=request.user,
        action=Action.READ,
        entity_type="CaseReview",
        role=primary_role(request.user),
        request=request,
        extra={"week": week.isoformat(), "patient_ids": [i.patient.pk for i in items]},
    )
    context = {
        "items": items,
        "week": week,
        "current": week == this_week,
        "previous": week - timedelta(days=7),
        "next": week + timedelta(days=7) if week < this_week else None,
        "week_error": error,
    }
    return render(request, "registry/review.html", context, status=400 if error else 200)


def _recipients(grant: PatientGrant) -> list[tuple[int, str]]:
    roles = RECIPIENT_ROLES[Area.OTHER]
    members = CareTeamMember.objects.filter(
        active_on(timezone.localdate()), patient=grant.patient, role__in=roles
    ).select_related("user")
    return [(m.user_id, f"{m.user.display_name} ({Role(m.role).label})") for m in members]


def _patient_page(
    request: AuthenticatedHttpRequest,
    grant: PatientGrant,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    requests, recommendations = review_lists.patient_history(grant.patient)
    context = {
        "patient": grant.patient,
        "grant": grant,
        "requests": requests,
        "recommendations": recommendations,
        "is_consultant": grant.role == Role.PSYCHIATRIC_CONSULTANT,
        "recipients": _recipients(grant),
        "areas": Area.choices,
        "form": form or {"key": secrets.token_urlsafe(16), "request_key": secrets.token_urlsafe(16)},
        "errors": errors or {},
    }
    return render(request, "registry/patient_review.html", context, status=status)


@login_required
@require_GET
def patient_review(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    return _patient_page(request, access.access_review_patient(request, patient_id))


@login_required
@require_POST
def request_review(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_review_patient(request, patient_id)
    form = {k: request.POST.get(k, "") for k in ("reason", "request_key")}
    form["key"] = secrets.token_urlsafe(16)
    try:
        do_request_review(
            grant.patient,
            acting_user=request.user,
            reason=form["reason"],
            idempotency_key=form["request_key"],
            request=request,
        )
    except RegistryError as exc:
        return _patient_page(request, grant, form=form, errors={exc.field: str(exc)}, status=400)
    messages.success(request, "Case review requested for this week.")
    return redirect(reverse("registry:patient_review", kwargs={"patient_id": grant.patient.pk}))


@login_required
@require_POST
def recommend(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_recommend(request, patient_id)
    form = {k: request.POST.get(k, "") for k in ("area", "text", "recipient", "key")}
    form["request_key"] = secrets.token_urlsafe(16)
    try:
        do_record_recommendation(
            grant.patient,
            consultant=request.user,
            area=form["area"],
            text=form["text"],
            recipient=form["recipient"],
            idempotency_key=form["key"],
            request=request,
        )
    except RegistryError as exc:
        return _patient_page(request, grant, form=form, errors={exc.field: str(exc)}, status=400)
    messages.success(request, "Recommendation recorded and sent as a hand-off.")
    return redirect(reverse("registry:patient_review", kwargs={"patient_id": grant.patient.pk}))
