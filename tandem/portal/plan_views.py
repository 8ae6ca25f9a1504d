"""The patient's plan, own-words goals, questions, and safety documents, in the portal.

Glue only: the signed-in patient's own record (access_own_patient), the plans app's actions, and
plain-language presentation from tandem.plans.plain and tandem.plans.education.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from pydantic import ValidationError

from tandem.lib.http import AuthenticatedHttpRequest
from tandem.patients.access import PatientGrant, access_own_patient
from tandem.patients.models import CareTeamMember, Patient, active_on
from tandem.plans import education, plain, safety_docs
from tandem.plans.actions import (
    PlanConflict,
    PlanError,
    do_patient_agree,
    do_patient_goals,
    do_patient_question,
)
from tandem.plans.models import (
    DocumentKind,
    EducationKind,
    PatientAgreement,
    PlanQuestion,
    PlanStatus,
    TreatmentPlan,
)
from tandem.plans.safety_forms import ENTITY as SAFETY_ENTITY
from tandem.plans.safety_forms import STALE, SafetyDocumentForm, checked_kind, save_document
from tandem.plans.schema import field_errors

MAX_GOALS = 10


class QuestionForm(forms.Form):
    text = forms.CharField(
        label="Your question",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write your question first."},
        help_text="Your care team reads it and answers here. Not for emergencies.",
    )


class GoalsForm(forms.Form):
    goals = forms.CharField(
        label="My goals, in my own words",
        required=False,
        max_length=20000,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="One goal per line, for example “Get back to running” or “Enjoy time with my kids again”.",
    )
    base_revision = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "base_revision" in self.errors:
            raise forms.ValidationError(STALE)
        return data

    def clean_goals(self) -> list[str]:
        goals = [line.strip() for line in (self.cleaned_data.get("goals") or "").splitlines() if line.strip()]
        if len(goals) > MAX_GOALS:
            raise forms.ValidationError(
                f"Please keep to {MAX_GOALS} goals or fewer — you wrote {len(goals)}."
            )
        for number, goal in enumerate(goals, start=1):
            if len(goal) > 1000:
                raise forms.ValidationError(f"Goal {number} is too long: at most 1000 characters.")
        return goals


def _active_plan(patient: Patient) -> TreatmentPlan | None:
    return (
        TreatmentPlan.objects.filter(patient=patient, status=PlanStatus.ACTIVE)
        .select_related("current", "current__author")
        .first()
    )


def _plan_context(grant: PatientGrant, question_form: QuestionForm | None = None) -> dict[str, Any]:
    """Everything the plan page shows, in a fixed number of queries however long the plan is."""
    patient = grant.patient
    plan = _active_plan(patient)
    context: dict[str, Any] = {
        "patient": patient,
        "plan": plan,
        "question_form": question_form or QuestionForm(),
    }
    if plan is None or plan.current is None:
        return context
    team = list(
        CareTeamMember.objects.filter(active_on(timezone.localdate()), patient=patient)
        .select_related("user")
        .order_by("role", "user__full_name")
    )
    people: dict[str, list[str]] = {}
    for member in team:
        people.setdefault(member.role, []).append(member.user.display_name)
    content = plan.current.content
    classes = education.medication_classes((content.get("medication") or {}).get("approach", ""))
    view = plain.for_patient(
        content,
        people=people,
        names={m.user_id: m.user.display_name for m in team},
        medication_classes=classes,
    )
    wanted = [(EducationKind.MODALITY, t["modality"]) for t in view["therapy"]]
    wanted += [(EducationKind.MEDICATION_CLASS, key) for key in classes]
    if view["has_medication"]:
        wanted += [
            (EducationKind.GENERAL, "what-to-expect-medication"),
            (EducationKind.GENERAL, "side-effects"),
        ]
    if view["both"]:
        wanted.append((EducationKind.GENERAL, "why-both"))
    topics = education.topics(patient.organisation_id, wanted)
    for therapy in view["therapy"]:
        therapy["topic"] = topics.get((EducationKind.MODALITY, therapy["modality"]))
    last_agreement = (
        PatientAgreement.objects.filter(revision__plan=plan, patient=patient)
        .select_related("revision")
        .order_by("-revision__number")
        .first()
    )
    context.update(
        revision=plan.current,
        view=view,
        team=team,
        class_topics=[topics[(EducationKind.MEDICATION_CLASS, key)] for key in classes],
        expect_topic=topics.get((EducationKind.GENERAL, "what-to-expect-medication")),
        side_effects_topic=topics.get((EducationKind.GENERAL, "side-effects")),
        why_both_topic=topics.get((EducationKind.GENERAL, "why-both")),
        agreed=last_agreement if last_agreement and last_agreement.revision_id == plan.current_id else None,
        agreed_before=last_agreement
        if last_agreement and last_agreement.revision_id != plan.current_id
        else None,
        questions=list(
            PlanQuestion.objects.filter(plan=plan, patient=patient).select_related("answered_by")[:20]
        ),
    )
    return context


@login_required
def plan(request: AuthenticatedHttpRequest) -> HttpResponse:
    grant = access_own_patient(request, entity="CarePlan")
    return render(request, "portal/plan.html", _plan_context(grant))


@login_required
@require_POST
def plan_agree(request: AuthenticatedHttpRequest) -> HttpResponse:
    grant = access_own_patient(request, entity="CarePlan", audit_read=False)
    plan = _active_plan(grant.patient)
    if plan is None or plan.current is None:
        messages.info(request, "There is no plan to agree to yet.")
        return redirect("portal:plan")
    raw = request.POST.get("revision", "")
    try:
        do_patient_agree(
            plan,
            patient=grant.patient,
            revision_number=int(raw) if raw.isdigit() else -1,
            acting_user=request.user,
            request=request,
        )
    except PlanConflict:
        messages.warning(
            request, "Your plan changed while you were reading it. Please read the new version first."
        )
        return redirect("portal:plan")
    messages.success(request, "Thank you. Your care team can see that you agree with this plan.")
    return redirect("portal:plan")


@login_required
@require_POST
def plan_question(request: AuthenticatedHttpRequest) -> HttpResponse:
    grant = access_own_patient(request, entity="CarePlan", audit_read=False)
    form = QuestionForm(request.POST)
    plan = _active_plan(grant.patient)
    if plan is None:
        messages.info(request, "Your team is still preparing your plan. You can ask them when you next meet.")
        return redirect("portal:plan")
    if form.is_valid():
        try:
            do_patient_question(
                plan,
                patient=grant.patient,
                text=form.cleaned_data["text"],
                acting_user=request.user,
                request=request,
            )
        except PlanError as exc:
            form.add_error("text", str(exc))
        else:
            messages.success(request, "Your question was sent to your care team.")
            return redirect(reverse("portal:plan") + "#questions-h")
    return render(request, "portal/plan.html", _plan_context(grant, question_form=form), status=400)


def _goal_errors(form: GoalsForm, exc: ValidationError) -> None:
    for where, errors in field_errors(exc).items():
        parts = where.split(".")
        prefix = f"Goal {int(parts[1]) + 1}: " if len(parts) > 1 and parts[1].isdigit() else ""
        for message in errors:
            form.add_error("goals", prefix + message)


@login_required
@require_http_methods(["GET", "POST"])
def plan_goals(request: AuthenticatedHttpRequest) -> HttpResponse:
    grant = access_own_patient(request, entity="CarePlan")
    plan = _active_plan(grant.patient)
    if plan is None or plan.current is None:
        return render(request, "portal/plan_goals.html", {"patient": grant.patient, "form": None, "own": []})
    own = [g["text"] for g in plan.current.content.get("goals", []) if g.get("kind") == "patient"]
    status = 200
    if request.method == "POST":
        form = GoalsForm(request.POST)
        if form.is_valid():
            try:
                do_patient_goals(
                    plan,
                    patient=grant.patient,
                    goals=form.cleaned_data["goals"],
                    acting_user=request.user,
                    base_revision=form.cleaned_data["base_revision"],
                    request=request,
                )
            except PlanConflict as exc:
                data = request.POST.copy()
                data["base_revision"] = str(exc.current)
                form = GoalsForm(data)
                form.is_valid()
                form.add_error(None, str(exc))
                plan = _active_plan(grant.patient) or plan
                assert plan.current is not None
                own = [g["text"] for g in plan.current.content.get("goals", []) if g.get("kind") == "patient"]
            except ValidationError as exc:
                _goal_errors(form, exc)
            except PlanError as exc:
                messages.info(request, str(exc))
                return redirect("portal:plan")
            else:
                messages.success(request, "Your goals are saved. Your care team can see them.")
                return redirect("portal:plan")
        status = 400
    else:
        form = GoalsForm(initial={"goals": "\n".join(own), "base_revision": plan.revision_count})
    return render(
        request, "portal/plan_goals.html", {"patient": grant.patient, "form": form, "own": own}, status=status
    )


# Safety and relapse-prevention plans -----------------------------------------------------------


@login_required
def safety(request: AuthenticatedHttpRequest) -> HttpResponse:
    grant = access_own_patient(request, entity=SAFETY_ENTITY)
    crisis = safety_docs.crisis_line(grant.patient)
    docs = safety_docs.documents(grant.patient)
    parts = []
    for kind, label in DocumentKind.choices:
        doc = docs[kind]
        current = doc.current if doc is not None else None
        parts.append(
            {
                "kind": kind,
                "label": label,
                "current": current,
                "sections": safety_docs.sections(kind, current.content if current else None, crisis=crisis),
            }
        )
    return render(request, "portal/safety.html", {"patient": grant.patient, "crisis": crisis, "parts": parts})


@login_required
@require_http_methods(["GET", "POST"])
def safety_edit(request: AuthenticatedHttpRequest, kind: str) -> HttpResponse:
    grant = access_own_patient(request, entity=SAFETY_ENTITY)
    kind = checked_kind(request, kind, grant.patient)
    theirs = None
    if request.method == "POST":
        form, outcome, theirs = save_document(request, grant, kind, role="patient")
        if outcome:
            if outcome == "saved":
                messages.success(
                    request, f"Your {DocumentKind(kind).label.lower()} is saved. Your care team can see it."
                )
            else:
                messages.info(request, "Nothing changed.")
            return redirect(reverse("portal:safety") + f"#{kind}-h")
    else:
        doc = safety_docs.document(grant.patient, kind)
        current = doc.current if doc is not None else None
        form = SafetyDocumentForm(
            initial=SafetyDocumentForm.initial_for(
                kind, current.content if current else None, doc.revision_count if doc else 0
            ),
            kind=kind,
        )
    crisis = safety_docs.crisis_line(grant.patient)
    context = {
        "patient": grant.patient,
        "kind": kind,
        "kind_label": DocumentKind(kind).label,
        "crisis": crisis,
        "form": form,
        "theirs": theirs,
        "their_sections": safety_docs.sections(kind, theirs.content, crisis=crisis) if theirs else None,
    }
    return render(request, "portal/safety_edit.html", context, status=400 if form.errors else 200)


@login_required
def safety_print(request: AuthenticatedHttpRequest, kind: str) -> HttpResponse:
    grant = access_own_patient(request, entity=SAFETY_ENTITY)
    kind = checked_kind(request, kind, grant.patient)
    doc = safety_docs.document(grant.patient, kind)
    shown = doc.current if doc is not None else None
    crisis = safety_docs.crisis_line(grant.patient)
    context = {
        "patient": grant.patient,
        "kind": kind,
        "kind_label": DocumentKind(kind).label,
        "crisis": crisis,
        "shown": shown,
        "sections": safety_docs.sections(kind, shown.content if shown else None, crisis=crisis),
        "back_url": reverse("portal:safety"),
        "printed_at": timezone.now(),
    }
    return render(request, "plans/safety/print.html", context)
