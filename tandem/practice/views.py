"""Skills practice, clinician side: assignments with their completion, assigning, reviewing an
entry with a comment the patient reads, ending, and the diary card's weekly summary (page and PDF).

Readers: the care team. Writers: the therapist and the care manager on the team.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from tandem.audit.access import record_denied
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.pagination import paginate
from tandem.patients.access import PatientGrant
from tandem.patients.views import patient_tabs
from tandem.practice import access
from tandem.practice.actions import PracticeError, do_assign, do_comment, do_end_assignment, patient_today
from tandem.practice.answers import review
from tandem.practice.forms import AssignForm
from tandem.practice.models import Assignment, Entry, EntryStatus, TemplateKind
from tandem.practice.queries import completion_of, diary_week, entry_days, week_start, with_completion
from tandem.practice.templates_data import template_for

RECENT = 20


def _base(grant: PatientGrant, **extra: Any) -> dict[str, Any]:
    return {
        "grant": grant,
        "patient": grant.patient,
        "tabs": patient_tabs(grant),
        "tab": "therapy",
        "age": grant.patient.age_on(timezone.localdate()),
        "may_assign": access.may_assign(grant),
        **extra,
    }


@login_required
def practice_list(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_practice_patient(request, patient_id)
    patient = grant.patient
    today = patient_today(patient)
    assignments = list(Assignment.objects.filter(patient=patient).order_by("ended_at", "-created_at", "-pk"))
    rows = with_completion(assignments, today)
    recent = list(
        Entry.objects.filter(patient=patient, status=EntryStatus.SUBMITTED)
        .select_related("assignment")
        .order_by("-submitted_at", "-pk")[:RECENT]
    )
    context = _base(
        grant,
        active=[r for r in rows if r["assignment"].ended_at is None],
        ended=[r for r in rows if r["assignment"].ended_at is not None],
        recent=recent,
        today=today,
    )
    return render(request, "practice/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def assign(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_practice_patient(request, patient_id, write=True)
    patient = grant.patient
    if request.method == "POST":
        form = AssignForm(request.POST)
        if form.is_valid():
            try:
                assignment = do_assign(
                    patient,
                    **form.action_kwargs(),
                    acting_user=request.user,
                    role=grant.role,
                    request=request,
                )
            except PracticeError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                messages.success(
                    request, f"{assignment.title} assigned. {patient.name} sees it in the portal."
                )
                return redirect("practice:assignment", patient_id=patient.pk, assignment_id=assignment.pk)
        return render(request, "practice/assign.html", _base(grant, form=form), status=400)
    initial = {
        "start": patient_today(patient),
        "frequency": "daily",
        "template": request.GET.get("template", ""),
    }
    return render(request, "practice/assign.html", _base(grant, form=AssignForm(initial=initial)))


@login_required
def assignment_detail(request: AuthenticatedHttpRequest, patient_id: int, assignment_id: int) -> HttpResponse:
    grant = access.access_practice_patient(request, patient_id)
    assignment = access.access_assignment(grant, request, assignment_id)
    today = patient_today(grant.patient)
    days = entry_days([assignment.pk]).get(assignment.pk, {})
    entries = Entry.objects.filter(assignment=assignment, status=EntryStatus.SUBMITTED).order_by(
        "-entry_date", "-submitted_at", "-pk"
    )
    page = paginate(request, entries, per_page=25)
    drafts = Entry.objects.filter(assignment=assignment, status=EntryStatus.DRAFT).count()
    context = _base(
        grant,
        assignment=assignment,
        template=template_for(assignment),
        completion=completion_of(assignment, days, today),
        page=page,
        drafts=drafts,
        is_diary=assignment.template == TemplateKind.DIARY_CARD,
    )
    return render(request, "practice/assignment.html", context)


@login_required
@require_POST
def end(request: AuthenticatedHttpRequest, patient_id: int, assignment_id: int) -> HttpResponse:
    grant = access.access_practice_patient(request, patient_id, write=True)
    assignment = access.access_assignment(grant, request, assignment_id)
    try:
        changed = do_end_assignment(
            assignment,
            reason=request.POST.get("reason", ""),
            acting_user=request.user,
            role=grant.role,
            request=request,
        )
    except PracticeError as exc:
        messages.error(request, f"{exc.field.capitalize()}: {exc}.")
    else:
        if changed:
            messages.success(request, f"{assignment.title} ended. The patient no longer sees it as to do.")
    return redirect("practice:assignment", patient_id=grant.patient.pk, assignment_id=assignment.pk)


@login_required
@require_http_methods(["GET", "POST"])
def entry_detail(request: AuthenticatedHttpRequest, patient_id: int, entry_id: int) -> HttpResponse:
    posting = request.method == "POST"
    grant = access.access_practice_patient(request, patient_id, write=posting, entity="PracticeEntry")
    entry = access.access_entry(grant, request, entry_id)
    errors: dict[str, str] = {}
    typed = request.POST.get("comment", entry.comment) if posting else entry.comment
    if posting:
        try:
            changed = do_comment(
                entry, text=typed, acting_user=request.user, role=grant.role, request=request
            )
        except PracticeError as exc:
            errors[exc.field] = str(exc)
        else:
            if changed:
                messages.success(request, "Comment saved. The patient reads it in the portal.")
            return redirect("practice:entry", patient_id=grant.patient.pk, entry_id=entry.pk)
    assignment = entry.assignment
    template = template_for(assignment)
    context = _base(
        grant,
        entry=entry,
        assignment=assignment,
        template=template,
        sections=review(template, entry.data),
        errors=errors,
        typed=typed,
    )
    return render(request, "practice/entry.html", context, status=400 if errors else 200)


def _monday(request: AuthenticatedHttpRequest, today: date) -> date:
    raw = request.GET.get("week", "")
    try:
        chosen = date.fromisoformat(raw) if raw else today
    except ValueError:
        chosen = today
    return week_start(chosen)


def _diary(grant: PatientGrant, request: AuthenticatedHttpRequest, assignment_id: int) -> Assignment:
    assignment = access.access_assignment(grant, request, assignment_id)
    if assignment.template != TemplateKind.DIARY_CARD:
        record_denied(request, "PracticeAssignment", assignment_id, patient=grant.patient)
        raise Http404
    return assignment


@login_required
def week(request: AuthenticatedHttpRequest, patient_id: int, assignment_id: int) -> HttpResponse:
    grant = access.access_practice_patient(request, patient_id)
    assignment = _diary(grant, request, assignment_id)
    monday = _monday(request, patient_today(grant.patient))
    context = _base(
        grant,
        assignment=assignment,
        monday=monday,
        sunday=monday + timedelta(days=6),
        previous=monday - timedelta(days=7),
        next=monday + timedelta(days=7),
        grid=diary_week(assignment, monday),
    )
    return render(request, "practice/diary_week.html", context)


@login_required
def week_pdf(request: AuthenticatedHttpRequest, patient_id: int, assignment_id: int) -> HttpResponse:
    grant = access.access_practice_patient(request, patient_id)
    assignment = _diary(grant, request, assignment_id)
    monday = _monday(request, patient_today(grant.patient))
    from tandem.practice.pdf import diary_week_pdf  # fpdf loads only for a PDF (about 0.7 s)

    content = diary_week_pdf(grant.patient, assignment, monday, diary_week(assignment, monday))
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="diary-card-{monday.isoformat()}.pdf"'
    response["Cache-Control"] = "no-store"
    return response
