"""Safety and relapse-prevention plans, clinician side: read (any revision), edit, print.

Readers hold the plan category (care team, consent with "plan", break-glass); editors are the
therapists, prescribers and care managers on the team. The patient writes the same documents in
the portal (tandem/portal/plan_views.py).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from tandem.audit.access import record_denied
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.patients.access import PatientGrant
from tandem.patients.views import patient_tabs
from tandem.plans import safety_docs
from tandem.plans.access import access_plan_patient, may_edit
from tandem.plans.models import DocumentKind
from tandem.plans.safety_forms import ENTITY, SafetyDocumentForm, checked_kind, save_document


def _context(grant: PatientGrant, kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "grant": grant,
        "patient": grant.patient,
        "tabs": patient_tabs(grant),
        "tab": "plan",
        "age": grant.patient.age_on(timezone.localdate()),
        "kind": kind,
        "kind_label": DocumentKind(kind).label,
        "kinds": DocumentKind.choices,
        "may_edit": may_edit(grant),
        "crisis": safety_docs.crisis_line(grant.patient),
        **extra,
    }


@login_required
def safety(request: AuthenticatedHttpRequest, patient_id: int, kind: str) -> HttpResponse:
    """The current revision (or ?revision=N, read-only), who wrote it and when, and the history."""
    grant = access_plan_patient(request, patient_id, entity=ENTITY)
    kind = checked_kind(request, kind, grant.patient)
    doc = safety_docs.document(grant.patient, kind)
    shown = doc.current if doc is not None else None
    if "revision" in request.GET:
        shown = safety_docs.revision(doc, request.GET["revision"])
        if shown is None:
            record_denied(request, "SafetyRevision", request.GET["revision"][:20], patient=grant.patient)
            raise Http404
    context = _context(
        grant,
        kind,
        document=doc,
        shown=shown,
        is_current=shown is not None and doc is not None and shown.pk == doc.current_id,
        sections=safety_docs.sections(
            kind, shown.content if shown else None, crisis=safety_docs.crisis_line(grant.patient)
        ),
        history=safety_docs.revisions(doc),
    )
    return render(request, "plans/safety/document.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def safety_edit(request: AuthenticatedHttpRequest, patient_id: int, kind: str) -> HttpResponse:
    grant = access_plan_patient(request, patient_id, edit=True, entity=ENTITY)
    kind = checked_kind(request, kind, grant.patient)
    doc = safety_docs.document(grant.patient, kind)
    theirs = None
    if request.method == "POST":
        form, outcome, theirs = save_document(request, grant, kind, role=grant.role)
        if outcome:
            if outcome == "saved":
                messages.success(request, f"{DocumentKind(kind).label} saved.")
            else:
                messages.info(request, "Nothing changed.")
            return redirect("plans:safety", patient_id=grant.patient.pk, kind=kind)
    else:
        current = doc.current if doc is not None else None
        form = SafetyDocumentForm(
            initial=SafetyDocumentForm.initial_for(
                kind, current.content if current else None, doc.revision_count if doc else 0
            ),
            kind=kind,
        )
    context = _context(
        grant,
        kind,
        document=doc,
        form=form,
        theirs=theirs,
        their_sections=safety_docs.sections(
            kind, theirs.content, crisis=safety_docs.crisis_line(grant.patient)
        )
        if theirs
        else None,
    )
    return render(request, "plans/safety/edit.html", context, status=400 if form.errors else 200)


@login_required
def safety_print(request: AuthenticatedHttpRequest, patient_id: int, kind: str) -> HttpResponse:
    grant = access_plan_patient(request, patient_id, entity=ENTITY)
    kind = checked_kind(request, kind, grant.patient)
    doc = safety_docs.document(grant.patient, kind)
    shown = doc.current if doc is not None else None
    context = _context(
        grant,
        kind,
        document=doc,
        shown=shown,
        sections=safety_docs.sections(
            kind, shown.content if shown else None, crisis=safety_docs.crisis_line(grant.patient)
        ),
        back_url=reverse("plans:safety", kwargs={"patient_id": grant.patient.pk, "kind": kind}),
        printed_at=timezone.now(),
    )
    return render(request, "plans/safety/print.html", context)


urlpatterns = [
    path("<int:patient_id>/plan/safety/<slug:kind>/", safety, name="safety"),
    path("<int:patient_id>/plan/safety/<slug:kind>/edit/", safety_edit, name="safety_edit"),
    path("<int:patient_id>/plan/safety/<slug:kind>/print/", safety_print, name="safety_print"),
]
