"""Skills practice in the portal: the patient's worksheets, a form per worksheet that keeps a
draft as they type (saved to the server and kept on the device, see static/practice/autosave.js)
and works without a script too ("Save draft" and "Send" are plain posts), and their sent entries
with the therapist's comment. A diary card that meets the safety rule shows crisis resources at
once."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from tandem.lib.http import AuthenticatedHttpRequest
from tandem.patients.access import access_own_patient
from tandem.practice.access import access_own_assignment, access_own_entry
from tandem.practice.actions import PracticeError, do_save_draft, do_submit_entry, patient_today
from tandem.practice.answers import layout, raw_values, review
from tandem.practice.models import Assignment, Entry, EntryStatus, TemplateKind
from tandem.practice.queries import doses_by_day, with_completion
from tandem.practice.templates_data import Template, template_for

ENTITY = "PracticeAssignment"


@login_required
def practice_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    grant = access_own_patient(request, entity=ENTITY)
    patient = grant.patient
    today = patient_today(patient)
    assignments = list(
        Assignment.objects.filter(patient=patient, ended_at__isnull=True).order_by("-created_at", "-pk")
    )
    rows = with_completion(assignments, today)
    drafts = set(
        Entry.objects.filter(
            patient=patient, status=EntryStatus.DRAFT, assignment__ended_at__isnull=True
        ).values_list("assignment_id", flat=True)
    )
    for row in rows:
        row["draft"] = row["assignment"].pk in drafts
    recent = list(
        Entry.objects.filter(patient=patient, status=EntryStatus.SUBMITTED)
        .select_related("assignment", "commented_by")
        .order_by("-submitted_at", "-pk")[:15]
    )
    return render(
        request,
        "portal/practice/list.html",
        {"patient": patient, "rows": rows, "recent": recent, "today": today},
    )


def _version(raw: str) -> int:
    return int(raw) if raw.isdigit() and len(raw) < 10 else 0


def _diary_day(request: AuthenticatedHttpRequest, assignment: Assignment, today: date) -> date:
    try:
        day = date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        return today
    last = min(today, assignment.last_day() or today)
    return day if assignment.start <= day <= last else today


def _form_page(
    request: AuthenticatedHttpRequest,
    assignment: Assignment,
    template: Template,
    *,
    raw: dict[str, str],
    errors: dict[str, str],
    key: str,
    version: int,
    draft: Entry | None = None,
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    patient = assignment.patient
    today = patient_today(patient)
    context: dict[str, Any] = {
        "patient": patient,
        "assignment": assignment,
        "template": template,
        "sections": layout(template, raw, errors),
        "errors": errors,
        "error_count": len(errors),
        "key": key,
        "version": version,
        "next_version": version + 1,
        "draft": draft,
        "notice": notice,
        "storage_key": f"tandem.practice.{request.user.pk}.{assignment.pk}",
        "saved_at_ms": int(draft.updated_at.timestamp() * 1000) if draft else 0,
    }
    if template.dated:
        last = min(today, assignment.last_day() or today)
        context["days"] = [
            d for d in (today - timedelta(days=k) for k in range(7)) if assignment.start <= d <= last
        ]
    return render(request, "portal/practice/fill.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def fill(request: AuthenticatedHttpRequest, assignment_id: int) -> HttpResponse:
    posting = request.method == "POST"
    assignment = access_own_assignment(request, assignment_id, audit_read=not posting)
    template = template_for(assignment)
    if assignment.ended_at is not None:
        return render(
            request, "portal/practice/ended.html", {"patient": assignment.patient, "assignment": assignment}
        )
    if posting:
        return _post(request, assignment, template)
    draft = (
        Entry.objects.filter(assignment=assignment, status=EntryStatus.DRAFT)
        .order_by("-updated_at", "-pk")
        .first()
    )
    raw: dict[str, str] = dict(draft.data) if draft else {}
    notice = ""
    if template.dated:
        today = patient_today(assignment.patient)
        wanted = _diary_day(request, assignment, today)
        if "day" in request.GET or "day" not in raw:
            raw["day"] = wanted.isoformat()
        notice = _dose_notice(assignment, raw)
    key = draft.idempotency_key if draft else secrets.token_urlsafe(16)
    return _form_page(
        request,
        assignment,
        template,
        raw=raw,
        errors={},
        key=key,
        version=draft.version if draft else 0,
        draft=draft,
        notice=notice,
    )


def _dose_notice(assignment: Assignment, raw: dict[str, str]) -> str:
    """What the dose log says of the card's day; it fills in "medication taken" when the patient
    has not answered it yet and the log is clear."""
    try:
        day = date.fromisoformat(raw.get("day", ""))
    except ValueError:
        return ""
    doses = doses_by_day(assignment.patient, day, day).get(day)
    if doses is None:
        return ""
    if not raw.get("medication") and doses.suggestion:
        raw["medication"] = doses.suggestion
    return f"From your dose log for {day:%A}: {doses.text}."


def _post(request: AuthenticatedHttpRequest, assignment: Assignment, template: Template) -> HttpResponse:
    raw = raw_values(template, request.POST)
    key = request.POST.get("key", "")
    version = _version(request.POST.get("version", ""))
    try:
        if request.POST.get("action") == "draft":
            result = do_save_draft(
                assignment, raw=raw, version=version, key=key, acting_user=request.user, request=request
            )
            messages.success(
                request,
                "Draft saved."
                if result.state != "stale"
                else "A newer draft of this form was already saved; it is shown.",
            )
            if result.state == "submitted":
                return redirect("portal_practice:entry", entry_id=result.entry.pk)
            return redirect("portal_practice:fill", assignment_id=assignment.pk)
        submitted = do_submit_entry(
            assignment, raw=raw, key=key, version=version, acting_user=request.user, request=request
        )
    except PracticeError as exc:
        fresh = secrets.token_urlsafe(16) if exc.field == "key" else key
        return _form_page(
            request,
            assignment,
            template,
            raw=raw,
            errors={},
            key=fresh,
            version=version,
            notice=str(exc).capitalize() + ".",
            status=400,
        )
    entry = submitted.entry
    assert entry is not None
    if submitted.errors:
        return _form_page(
            request,
            assignment,
            template,
            raw=raw,
            errors=submitted.errors,
            key=key,
            version=entry.version,
            draft=entry,
            status=400,
        )
    return redirect(reverse("portal_practice:entry", kwargs={"entry_id": entry.pk}) + "?sent=1")


@login_required
@require_POST
def save_draft(request: AuthenticatedHttpRequest, assignment_id: int) -> HttpResponse:
    """The form's script saves here as the patient types: JSON in return."""
    assignment = access_own_assignment(request, assignment_id, audit_read=False)
    template = template_for(assignment)
    try:
        result = do_save_draft(
            assignment,
            raw=raw_values(template, request.POST),
            version=_version(request.POST.get("version", "")),
            key=request.POST.get("key", ""),
            acting_user=request.user,
            request=request,
        )
    except PracticeError as exc:
        return JsonResponse({"state": "refused", "field": exc.field, "error": str(exc)}, status=400)
    entry = result.entry
    body: dict[str, Any] = {
        "state": result.state,
        "version": entry.version,
        "saved_at": entry.updated_at.isoformat(),
    }
    if result.state == "submitted":
        body["entry_url"] = reverse("portal_practice:entry", kwargs={"entry_id": entry.pk})
    return JsonResponse(body)


@login_required
def entry_detail(request: AuthenticatedHttpRequest, entry_id: int) -> HttpResponse:
    entry = access_own_entry(request, entry_id)
    assignment = entry.assignment
    if entry.status != EntryStatus.SUBMITTED:
        return redirect("portal_practice:fill", assignment_id=assignment.pk)
    template = template_for(assignment)
    context = {
        "patient": entry.patient,
        "entry": entry,
        "assignment": assignment,
        "template": template,
        "sections": review(template, entry.data),
        "sent": request.GET.get("sent") == "1",
        "storage_key": f"tandem.practice.{request.user.pk}.{assignment.pk}",
        "is_diary": assignment.template == TemplateKind.DIARY_CARD,
    }
    return render(request, "portal/practice/entry.html", context)
