"""Progress notes, clinician side: the list of a patient's session notes, one note, writing and
signing a draft, and addenda.

Readers: the care team, emergency access and clinicians consented for "therapy summaries". The
session's clinician writes, signs and adds addenda; everybody else posting gets 404, audited.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from tandem.audit.access import record_denied
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.pagination import paginate
from tandem.notes import access
from tandem.notes.actions import (
    NoteError,
    NoteInput,
    do_add_addendum,
    do_save_progress_draft,
    do_sign_progress_note,
    form_input,
)
from tandem.notes.models import ProgressNote
from tandem.notes.vocabulary import (
    NONE_REPORTED_HELP,
    RISK_LEVEL_HELP,
    RiskLevel,
    SelfHarm,
    SuicidalIdeation,
    groups_for,
    intervention_labels,
)
from tandem.patients.access import PatientGrant, audit_patient_read
from tandem.patients.models import Category
from tandem.patients.views import patient_tabs
from tandem.therapy.models import Modality, Session, SessionStatus


def _base(grant: PatientGrant, **extra: Any) -> dict[str, Any]:
    return {
        "grant": grant,
        "patient": grant.patient,
        "tabs": patient_tabs(grant),
        "tab": "therapy",
        "age": grant.patient.age_on(timezone.localdate()),
        **extra,
    }


def _note_of(session: Session) -> ProgressNote | None:
    try:
        return session.progress_note
    except ProgressNote.DoesNotExist:
        return None


@login_required
def notes_list(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_notes_patient(request, patient_id)
    audit_patient_read(request, grant, entity=access.PROGRESS, need=Category.THERAPY_SUMMARIES)
    sessions = (
        Session.objects.filter(
            Q(status=SessionStatus.ATTENDED) | Q(progress_note__isnull=False), patient=grant.patient
        )
        .select_related("clinician", "progress_note__signed_by")
        .order_by("-starts_at", "-pk")
    )
    page = paginate(request, sessions, per_page=25)
    tz = grant.patient.tz
    rows = []
    for session in page.object_list:
        note = _note_of(session)
        if note is not None and note.is_signed:
            state = "signed"
        elif note is not None:
            state = "own_draft" if note.author_id == request.user.pk else "draft"
        else:
            state = "none"
        rows.append(
            {
                "session": session,
                "note": note,
                "state": state,
                "when": timezone.localtime(session.starts_at, tz),
                "may_write": state == "none"
                and session.status == SessionStatus.ATTENDED
                and access.may_write_for(grant, session, request.user),
            }
        )
    return render(
        request,
        "notes/list.html",
        _base(grant, page=page, rows=rows, private_link=access.may_keep_psychotherapy_notes(grant)),
    )


def _note_context(
    request: AuthenticatedHttpRequest, grant: PatientGrant, note: ProgressNote
) -> dict[str, Any]:
    return _base(
        grant,
        note=note,
        session=note.session,
        when=timezone.localtime(note.session.starts_at, grant.patient.tz),
        interventions=intervention_labels(note.interventions),
        addenda=list(note.addenda.select_related("author")),
        may_add_addendum=access.may_add_addendum(grant, note, request.user),
        may_edit=not note.is_signed and note.author_id == request.user.pk,
        none_reported_help=NONE_REPORTED_HELP,
        errors={},
        typed="",
        key=secrets.token_hex(16),
    )


@login_required
def progress(request: AuthenticatedHttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    grant = access.access_notes_patient(request, patient_id)
    note = access.access_progress_note(grant, request, session_id)
    return render(request, "notes/progress.html", _note_context(request, grant, note))


@login_required
@require_POST
def addendum(request: AuthenticatedHttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    grant = access.access_notes_patient(request, patient_id)
    note = access.access_progress_note(grant, request, session_id)
    if not access.may_add_addendum(grant, note, request.user):
        record_denied(request, "ProgressNoteAddendum", session_id, patient=grant.patient)
        raise Http404
    try:
        _, created = do_add_addendum(
            note,
            request.POST.get("text", ""),
            acting_user=request.user,
            role=grant.role,
            idempotency_key=request.POST.get("key", ""),
            request=request,
        )
    except NoteError as exc:
        context = _note_context(request, grant, note)
        context.update(errors={exc.field: str(exc)}, typed=request.POST.get("text", ""))
        context["key"] = request.POST.get("key", "") or context["key"]
        return render(request, "notes/progress.html", context, status=400)
    if created:
        messages.success(request, "Addendum added.")
    return redirect("notes:progress", patient_id=grant.patient.pk, session_id=note.session_id)


def _form_context(
    grant: PatientGrant, session: Session, data: NoteInput, errors: dict[str, str]
) -> dict[str, Any]:
    modality = data.modality or session.modality
    chosen = set(data.interventions)
    groups = [
        {
            "group": g,
            "open": g.key in ("common", modality) or any(k in chosen for k, _ in g.items),
            "items": [{"key": k, "label": label, "checked": k in chosen} for k, label in g.items],
        }
        for g in groups_for(modality)
    ]
    reviewed = {True: "yes", False: "no", None: ""}[data.safety_plan_reviewed]
    return _base(
        grant,
        session=session,
        when=timezone.localtime(session.starts_at, grant.patient.tz),
        attended=session.status == SessionStatus.ATTENDED,
        data=data,
        modality=modality,
        reviewed=reviewed,
        groups=groups,
        modalities=Modality.choices,
        ideation_choices=SuicidalIdeation.choices,
        self_harm_choices=SelfHarm.choices,
        risk_choices=RiskLevel.choices,
        none_reported_help=NONE_REPORTED_HELP,
        risk_level_help=RISK_LEVEL_HELP,
        errors=errors,
        other_errors=[m for f, m in errors.items() if f in ("note", "session")],
    )


@login_required
@require_http_methods(["GET", "POST"])
def progress_edit(request: AuthenticatedHttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    grant = access.access_notes_patient(request, patient_id)
    session = access.access_session_to_write(grant, request, session_id)
    note = ProgressNote.objects.filter(session=session).first()
    if note is not None and note.author_id != request.user.pk:
        record_denied(request, access.PROGRESS, session_id, patient=grant.patient)
        raise Http404
    if request.method == "GET":
        if note is not None and note.is_signed:
            return redirect("notes:progress", patient_id=grant.patient.pk, session_id=session.pk)
        data = NoteInput.of(note) if note is not None else NoteInput(modality=session.modality)
        return render(request, "notes/progress_edit.html", _form_context(grant, session, data, {}))
    data = form_input(request.POST)
    signing = request.POST.get("intent") == "sign"
    try:
        if signing:
            _, signed = do_sign_progress_note(
                session, data, acting_user=request.user, role=grant.role, request=request
            )
        else:
            do_save_progress_draft(session, data, acting_user=request.user, role=grant.role, request=request)
    except NoteError as exc:
        context = _form_context(grant, session, data, {exc.field: str(exc)})
        return render(request, "notes/progress_edit.html", context, status=400)
    if signing:
        if signed:
            messages.success(request, "Note signed. It is now locked; add an addendum to correct it.")
        return redirect("notes:progress", patient_id=grant.patient.pk, session_id=session.pk)
    messages.success(request, "Draft saved. Only you can see it until you sign it.")
    return redirect("notes:progress_edit", patient_id=grant.patient.pk, session_id=session.pk)


urlpatterns = [
    path("<int:patient_id>/therapy/notes/", notes_list, name="list"),
    path("<int:patient_id>/therapy/notes/session/<int:session_id>/", progress, name="progress"),
    path(
        "<int:patient_id>/therapy/notes/session/<int:session_id>/edit/", progress_edit, name="progress_edit"
    ),
    path("<int:patient_id>/therapy/notes/session/<int:session_id>/addenda/", addendum, name="addendum"),
]
