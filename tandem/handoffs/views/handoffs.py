"""Hand-offs of one patient: the list, the new-hand-off form, one hand-off and its task buttons.

Readers: the care team (and a clinician who broke the glass). Senders: care-team members. Only
the recipient acknowledges and completes a hand-off.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from tandem.handoffs import access
from tandem.handoffs.actions import (
    do_acknowledge_handoff,
    do_complete_handoff,
    do_send_handoff,
    team_members,
)
from tandem.handoffs.kinds import (
    KINDS,
    HandoffError,
    due_input,
    labelled,
    parse_due,
)
from tandem.handoffs.models import Handoff, HandoffKind, HandoffStatus
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.pagination import paginate
from tandem.patients.access import PatientGrant
from tandem.patients.views import patient_tabs
from tandem.plans.models import PlanStatus, TreatmentPlan
from tandem.therapy.models import Session

SESSION_CHOICES = 20


def base_context(grant: PatientGrant, **extra: Any) -> dict[str, Any]:
    return {
        "grant": grant,
        "patient": grant.patient,
        "tabs": patient_tabs(grant),
        "tab": "handoffs",
        "age": grant.patient.age_on(timezone.localdate()),
        "may_write": grant.basis == "care_team",
        **extra,
    }


@login_required
def handoff_list(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_handoffs_patient(request, patient_id)
    done_last = Case(
        When(status=HandoffStatus.DONE, then=Value(1)), default=Value(0), output_field=IntegerField()
    )
    handoffs = (
        Handoff.objects.filter(patient=grant.patient)
        .select_related("sender", "recipient")
        .annotate(done_last=done_last)
        .order_by("done_last", "due_by", "pk")
    )
    page = paginate(request, handoffs, per_page=50)
    return render(request, "handoffs/list.html", base_context(grant, page=page, now=timezone.now()))


def _form_context(
    grant: PatientGrant,
    request: AuthenticatedHttpRequest,
    kind: str,
    typed: dict[str, str],
    errors: dict[str, str],
) -> dict[str, Any]:
    patient = grant.patient
    spec = KINDS[kind]
    fields = [
        {
            "name": f.name,
            "label": f.label,
            "help": f.help,
            "choices": f.choices,
            "required": f.required,
            "max_length": f.max_length,
            "value": typed.get(f.name, ""),
            "error": errors.get(f.name, ""),
        }
        for f in spec.fields
    ]
    members = [m for m in team_members(patient) if m.user_id != request.user.pk]
    if spec.recipient_roles:
        members = [m for m in members if m.role in spec.recipient_roles]
    sessions: list[Session] = []
    if kind == HandoffKind.SESSION_OBSERVATION:
        sessions = list(
            Session.objects.filter(patient=patient, starts_at__lte=timezone.now() + timedelta(hours=1))
            .select_related("clinician")
            .order_by("-starts_at")[:SESSION_CHOICES]
        )
    plans: list[TreatmentPlan] = []
    if kind == HandoffKind.PLAN_PROPOSAL:
        plans = list(
            TreatmentPlan.objects.filter(patient=patient, status__in=[PlanStatus.DRAFT, PlanStatus.ACTIVE])
        )
    known = {"kind", "recipient", "due_by", "session", "plan", "key", *(f.name for f in spec.fields)}
    return base_context(
        grant,
        kind=kind,
        spec=spec,
        kinds=[(s.kind, s.label) for s in KINDS.values()],
        fields=fields,
        members=members,
        sessions=sessions,
        plans=plans,
        typed=typed,
        errors=errors,
        other_errors=[
            f"{name.replace('_', ' ').capitalize()}: {msg}"
            for name, msg in errors.items()
            if name not in known or name == "key"
        ],
    )


@login_required
@require_http_methods(["GET", "POST"])
def new_handoff(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    posting = request.method == "POST"
    grant = access.access_handoffs_patient(request, patient_id, write=True)
    tz = grant.patient.tz
    source = request.POST if posting else request.GET
    kind = source.get("kind") or HandoffKind.CONSULT_REQUEST
    errors: dict[str, str] = {}
    if kind not in KINDS:
        errors["kind"] = "choose one of: " + ", ".join(s.label for s in KINDS.values())
        kind = HandoffKind.CONSULT_REQUEST
    if not posting or errors:
        spec = KINDS[kind]
        due = timezone.now() + spec.due_in
        typed = {"due_by": due_input(due, tz), "key": secrets.token_urlsafe(16)}
        status = 400 if errors else 200
        return render(
            request, "handoffs/new.html", _form_context(grant, request, kind, typed, errors), status=status
        )
    typed = {k: request.POST.get(k, "") for k in request.POST if k != "csrfmiddlewaretoken"}
    if not 8 <= len(typed.get("key", "").strip()) <= 64:  # no usable key: nothing is sent
        typed["key"] = secrets.token_urlsafe(16)
        errors["key"] = "this form could not be sent; check it and send it again"
        return render(
            request, "handoffs/new.html", _form_context(grant, request, kind, typed, errors), status=400
        )
    try:
        handoff, created = do_send_handoff(
            grant.patient,
            kind=kind,
            sender=request.user,
            recipient=typed.get("recipient"),
            due_by=parse_due(typed.get("due_by", ""), tz),
            details=typed,
            session=typed.get("session") or None,
            plan=typed.get("plan") or None,
            idempotency_key=typed.get("key", ""),
            request=request,
        )
    except HandoffError as exc:
        errors[exc.field] = str(exc)
        return render(
            request, "handoffs/new.html", _form_context(grant, request, kind, typed, errors), status=400
        )
    if created:
        messages.success(request, f"Sent to {handoff.recipient.display_name}. It is now their task.")
    return redirect("handoffs:detail", patient_id=grant.patient.pk, handoff_id=handoff.pk)


@login_required
def handoff_detail(request: AuthenticatedHttpRequest, patient_id: int, handoff_id: int) -> HttpResponse:
    grant = access.access_handoffs_patient(request, patient_id)
    handoff = access.access_handoff(grant, request, handoff_id)
    return _detail(request, grant, handoff, {}, "")


def _detail(
    request: AuthenticatedHttpRequest,
    grant: PatientGrant,
    handoff: Handoff,
    errors: dict[str, str],
    note: str,
    status: int = 200,
) -> HttpResponse:
    context = base_context(
        grant,
        handoff=handoff,
        rows=labelled(KINDS[handoff.kind], handoff.details),
        may_act=access.may_act_on(grant, handoff, request.user),
        overdue=handoff.is_overdue(),
        errors=errors,
        note=note,
    )
    return render(request, "handoffs/detail.html", context, status=status)


@login_required
@require_POST
def acknowledge(request: AuthenticatedHttpRequest, patient_id: int, handoff_id: int) -> HttpResponse:
    grant = access.access_handoffs_patient(request, patient_id, write=True)
    handoff = access.access_task(grant, request, handoff_id)
    _, changed = do_acknowledge_handoff(handoff, acting_user=request.user, request=request)
    if changed:
        messages.success(request, "Acknowledged. The sender can see you have it.")
    if request.POST.get("next") == "tasks":
        return redirect("handoff_tasks:mine")
    return redirect("handoffs:detail", patient_id=grant.patient.pk, handoff_id=handoff.pk)


@login_required
@require_POST
def complete(request: AuthenticatedHttpRequest, patient_id: int, handoff_id: int) -> HttpResponse:
    grant = access.access_handoffs_patient(request, patient_id, write=True)
    handoff = access.access_task(grant, request, handoff_id)
    note = request.POST.get("note", "")
    try:
        _, changed = do_complete_handoff(handoff, note=note, acting_user=request.user, request=request)
    except HandoffError as exc:
        return _detail(request, grant, handoff, {exc.field: str(exc)}, note, status=400)
    if changed:
        messages.success(request, "Marked done. The sender has been told.")
    return redirect("handoffs:detail", patient_id=grant.patient.pk, handoff_id=handoff.pk)


urlpatterns = [
    path("<int:patient_id>/handoffs/", handoff_list, name="list"),
    path("<int:patient_id>/handoffs/new/", new_handoff, name="new"),
    path("<int:patient_id>/handoffs/<int:handoff_id>/", handoff_detail, name="detail"),
    path("<int:patient_id>/handoffs/<int:handoff_id>/acknowledge/", acknowledge, name="acknowledge"),
    path("<int:patient_id>/handoffs/<int:handoff_id>/complete/", complete, name="complete"),
]
