"""The treatment plan, clinician side: read, edit a section, revisions, diff, restore,
acknowledge, comment, propose and decide, answer the patient's questions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from pydantic import ValidationError

from tandem.accounts.models import Role, User
from tandem.audit.access import record_denied
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.patients.access import PatientGrant
from tandem.patients.models import CareTeamMember, active_on
from tandem.patients.views import patient_tabs
from tandem.plans import access, actions, rules
from tandem.plans.forms import (
    AnswerForm,
    ChangeForm,
    CommentForm,
    DecisionForm,
    MedicationForm,
    StatusForm,
    attach_schema_errors,
    section_formset,
    section_value,
)
from tandem.plans.models import (
    PatientAgreement,
    PlanAcknowledgement,
    PlanComment,
    PlanProposal,
    PlanQuestion,
    PlanRevision,
    PlanStatus,
    ProposalStatus,
    TreatmentPlan,
)
from tandem.plans.presenters import present
from tandem.plans.schema import SECTIONS, PlanContent


def _base(grant: PatientGrant, **extra: Any) -> dict[str, Any]:
    return {
        "grant": grant,
        "patient": grant.patient,
        "tabs": patient_tabs(grant),
        "tab": "plan",
        "age": grant.patient.age_on(timezone.localdate()),
        "may_edit": access.may_edit(grant),
        "may_acknowledge": access.may_acknowledge(grant),
        **extra,
    }


def _team(grant: PatientGrant) -> list[CareTeamMember]:
    return list(
        CareTeamMember.objects.filter(active_on(timezone.localdate()), patient=grant.patient).select_related(
            "user"
        )
    )


def _people(team: list[CareTeamMember]) -> dict[int, str]:
    return {m.user_id: m.user.display_name for m in team}


def _plan_url(grant: PatientGrant) -> str:
    return reverse("plans:plan", kwargs={"patient_id": grant.patient.pk})


@login_required
def plan_home(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_plan_patient(request, patient_id)
    plans = list(
        TreatmentPlan.objects.filter(patient=grant.patient)
        .select_related("current__author")
        .order_by("-created_at")
    )
    plan = next((p for p in plans if p.status == PlanStatus.ACTIVE), None) or next(
        (p for p in plans if p.status == PlanStatus.DRAFT), None
    )
    context = _base(grant, plans=plans, plan=plan)
    if plan is None or plan.current is None:
        return render(request, "plans/plan.html", context)
    team = _team(grant)
    revision = plan.current
    acked = set(PlanAcknowledgement.objects.filter(revision=revision).values_list("user_id", flat=True))
    expected = [m for m in team if m.user_id != revision.author_id]
    context.update(
        revision=revision,
        sections=present(revision.content, _people(team)),
        acknowledgements=[{"member": m, "done": m.user_id in acked} for m in expected],
        i_must_acknowledge=access.may_acknowledge(grant)
        and request.user.pk not in acked
        and any(m.user_id == request.user.pk for m in expected),
        comments=list(
            PlanComment.objects.filter(plan=plan)
            .select_related("author", "revision")
            .order_by("-created_at")[:50]
        ),
        proposals=[
            {
                "proposal": p,
                "may_decide": access.section_author_id(plan, p.section) == request.user.pk,
                "diff": rules.diff(
                    revision.content, rules.replace_section(revision.content, p.section, p.content)
                ),
            }
            for p in PlanProposal.objects.filter(plan=plan, status=ProposalStatus.OPEN).select_related(
                "proposer"
            )
        ],
        questions=list(PlanQuestion.objects.filter(plan=plan).select_related("answered_by")[:20]),
        agreed=PatientAgreement.objects.filter(revision=revision).first(),
        comment_form=CommentForm(),
        status_form=StatusForm(),
    )
    return render(request, "plans/plan.html", context)


@login_required
@require_POST
def plan_create(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_plan_patient(request, patient_id, edit=True)
    try:
        actions.do_create_plan(grant.patient, acting_user=request.user, role=grant.role, request=request)
    except actions.DraftExists as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "A draft plan was started. Fill in its sections, then make it active.")
    return redirect(_plan_url(grant))


def _plan(request: AuthenticatedHttpRequest, grant: PatientGrant, plan_id: int) -> TreatmentPlan:
    return access.access_plan(grant, request, plan_id)


def _therapists(grant: PatientGrant) -> list[User]:
    return [m.user for m in _team(grant) if m.role == Role.THERAPIST]


@login_required
@require_http_methods(["GET", "POST"])
def edit_section(
    request: AuthenticatedHttpRequest, patient_id: int, plan_id: int, section: str
) -> HttpResponse:
    return _section_form(request, patient_id, plan_id, section, propose=False)


@login_required
@require_http_methods(["GET", "POST"])
def propose(request: AuthenticatedHttpRequest, patient_id: int, plan_id: int, section: str) -> HttpResponse:
    return _section_form(request, patient_id, plan_id, section, propose=True)


def _section_form(
    request: AuthenticatedHttpRequest, patient_id: int, plan_id: int, section: str, *, propose: bool
) -> HttpResponse:
    grant = access.access_plan_patient(request, patient_id, edit=not propose)
    plan = _plan(request, grant, plan_id)
    if section not in SECTIONS:
        record_denied(request, "CarePlan", f"{plan_id}/{section}", patient=grant.patient)
        raise Http404
    if propose and grant.basis not in ("care_team", "consent"):
        raise Http404
    assert plan.current is not None
    current = plan.current.content.get(section)
    therapists = _therapists(grant)
    conflict: int | None = None
    if request.method == "POST":
        change = ChangeForm(request.POST)
        target: Any = (
            MedicationForm(request.POST, prefix="medication")
            if section == "medication"
            else section_formset(section, data=request.POST, therapists=therapists)
        )
        if change.is_valid() and target.is_valid():
            value, rows = section_value(section, target)
            try:
                PlanContent.model_validate({**plan.current.content, section: value})
                if propose:
                    actions.do_propose(
                        plan,
                        section=section,
                        content=value,
                        reason=change.cleaned_data["reason"],
                        acting_user=request.user,
                        base_revision=change.cleaned_data["base_revision"],
                        role=grant.role,
                        request=request,
                    )
                    messages.success(request, "Your proposal was sent to the author of this section.")
                else:
                    actions.do_revise_plan(
                        plan,
                        content={**plan.current.content, section: value},
                        reason=change.cleaned_data["reason"],
                        acting_user=request.user,
                        base_revision=change.cleaned_data["base_revision"],
                        role=grant.role,
                        request=request,
                    )
                    messages.success(
                        request,
                        f"{SECTIONS[section]} saved as a new revision. The team was asked to acknowledge.",
                    )
                return redirect(_plan_url(grant))
            except ValidationError as exc:
                for message in attach_schema_errors(section, exc, target, rows):
                    change.add_error(None, message)
            except actions.PlanConflict as exc:
                change.add_error(None, str(exc))
                conflict = exc.current
            except actions.PlanError as exc:
                change.add_error(None, str(exc))
    else:
        change = ChangeForm(initial={"base_revision": plan.revision_count})
        target = (
            MedicationForm(initial=current or {}, prefix="medication")
            if section == "medication"
            else section_formset(section, items=current or [], therapists=therapists)
        )
    context = _base(
        grant,
        plan=plan,
        section=section,
        section_label=SECTIONS[section],
        change=change,
        target=target,
        propose=propose,
        conflict=conflict,
        is_formset=section != "medication",
    )
    status = 409 if conflict is not None else (400 if request.method == "POST" else 200)
    return render(request, "plans/edit_section.html", context, status=status)


@login_required
@require_POST
def set_status(request: AuthenticatedHttpRequest, patient_id: int, plan_id: int) -> HttpResponse:
    grant = access.access_plan_patient(request, patient_id, edit=True)
    plan = _plan(request, grant, plan_id)
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            actions.do_set_plan_status(
                plan,
                form.cleaned_data["status"],
                acting_user=request.user,
                reason=form.cleaned_data["reason"],
                role=grant.role,
                request=request,
            )
            messages.success(request, f"The plan is now {form.cleaned_data['status']}.")
        except actions.PlanError as exc:
            messages.error(request, str(exc))
    else:
        messages.error(request, "Choose what the plan should become.")
    return redirect(_plan_url(grant))


@login_required
def revisions(request: AuthenticatedHttpRequest, patient_id: int, plan_id: int) -> HttpResponse:
    grant = access.access_plan_patient(request, patient_id)
    plan = _plan(request, grant, plan_id)
    rows = list(PlanRevision.objects.filter(plan=plan).select_related("author").order_by("-number"))
    return render(request, "plans/revisions.html", _base(grant, plan=plan, revisions=rows))


@login_required
def revision(request: AuthenticatedHttpRequest, patient_id: int, plan_id: int, number: int) -> HttpResponse:
    grant = access.access_plan_patient(request, patient_id)
    plan = _plan(request, grant, plan_id)
    shown = access.access_revision(plan, request, number)
    return render(
        request,
        "plans/revision.html",
        _base(
            grant,
            plan=plan,
            shown=shown,
            sections=present(shown.content, _people(_team(grant))),
        ),
    )


@login_required
def diff(request: AuthenticatedHttpRequest, patient_id: int, plan_id: int) -> HttpResponse:
    grant = access.access_plan_patient(request, patient_id)
    plan = _plan(request, grant, plan_id)
    newest = plan.revision_count

    def number(name: str, default: int) -> int:
        raw = request.GET.get(name, "")
        return int(raw) if raw.isdigit() and 1 <= int(raw) <= newest else default

    right = number("to", newest)
    left = number("from", max(1, right - 1))
    pair = {
        r.number: r
        for r in PlanRevision.objects.filter(plan=plan, number__in=[left, right]).select_related("author")
    }
    changes = rules.diff(pair[left].content, pair[right].content) if left != right else []
    return render(
        request,
        "plans/diff.html",
        _base(
            grant,
            plan=plan,
            left=pair[left],
            right=pair[right],
            changes=changes,
            numbers=range(newest, 0, -1),
        ),
    )


@login_required
@require_POST
def restore(request: AuthenticatedHttpRequest, patient_id: int, plan_id: int, number: int) -> HttpResponse:
    grant = access.access_plan_patient(request, patient_id, edit=True)
    plan = _plan(request, grant, plan_id)
    base = request.POST.get("base_revision", "")
    try:
        actions.do_restore_revision(
            plan,
            number,
            acting_user=request.user,
            role=grant.role,
            request=request,
            base_revision=int(base) if base.isdigit() else -1,
        )
        messages.success(request, f"Revision {number} was restored as a new revision.")
    except actions.PlanError as exc:
        messages.error(request, str(exc))
    return redirect(_plan_url(grant))


@login_required
@require_POST
def acknowledge(request: AuthenticatedHttpRequest, patient_id: int, plan_id: int) -> HttpResponse:
    grant = access.access_plan_patient(request, patient_id)
    if not access.may_acknowledge(grant):
        record_denied(request, "CarePlan", plan_id, patient=grant.patient)
        raise Http404
    plan = _plan(request, grant, plan_id)
    raw = request.POST.get("revision", "")
    if not raw.isdigit() or not PlanRevision.objects.filter(plan=plan, number=int(raw)).exists():
        messages.error(request, "That revision does not exist.")
    else:
        actions.do_acknowledge(
            plan, revision_number=int(raw), acting_user=request.user, role=grant.role, request=request
        )
        messages.success(request, f"You acknowledged revision {raw}.")
    return redirect(_plan_url(grant))


@login_required
@require_POST
def comment(request: AuthenticatedHttpRequest, patient_id: int, plan_id: int) -> HttpResponse:
    grant = access.access_plan_patient(request, patient_id)
    plan = _plan(request, grant, plan_id)
    form = CommentForm(request.POST)
    if form.is_valid():
        actions.do_comment(
            plan,
            text=form.cleaned_data["text"],
            section=form.cleaned_data["section"],
            acting_user=request.user,
            role=grant.role,
            request=request,
        )
        messages.success(request, "Comment added.")
    else:
        messages.error(request, "Write a comment first.")
    return redirect(_plan_url(grant))


@login_required
@require_POST
def decide(
    request: AuthenticatedHttpRequest, patient_id: int, plan_id: int, proposal_id: int
) -> HttpResponse:
    grant = access.access_plan_patient(request, patient_id, edit=True)
    plan = _plan(request, grant, plan_id)
    proposal = access.access_proposal(plan, request, proposal_id)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            actions.do_decide_proposal(
                proposal,
                accept=form.cleaned_data["decision"] == "accept",
                note=form.cleaned_data["note"],
                acting_user=request.user,
                role=grant.role,
                request=request,
            )
            messages.success(request, f"Proposal {form.cleaned_data['decision']}ed.")
        except actions.PlanError as exc:
            messages.error(request, str(exc))
    return redirect(_plan_url(grant))


@login_required
@require_POST
def answer(
    request: AuthenticatedHttpRequest, patient_id: int, plan_id: int, question_id: int
) -> HttpResponse:
    grant = access.access_plan_patient(request, patient_id)
    if grant.basis != "care_team":
        record_denied(request, "PlanQuestion", question_id, patient=grant.patient)
        raise Http404
    plan = _plan(request, grant, plan_id)
    question = PlanQuestion.objects.filter(id=question_id, plan=plan).first()
    if question is None:
        record_denied(request, "PlanQuestion", question_id, patient=grant.patient)
        raise Http404
    form = AnswerForm(request.POST)
    if form.is_valid():
        actions.do_answer_question(
            question,
            answer=form.cleaned_data["answer"],
            acting_user=request.user,
            role=grant.role,
            request=request,
        )
        messages.success(request, "Answer saved; the patient sees it with their plan.")
    else:
        messages.error(request, "Write an answer first.")
    return redirect(_plan_url(grant))
