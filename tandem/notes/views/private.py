"""Psychotherapy notes: pages for their author only.

Every page goes through tandem.notes.access; anybody but the author gets the same 404 as a
missing id (audited, without text). The pages are never cached, and nothing else in Tandem links
to a note or says how many there are.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.pagination import paginate
from tandem.notes import access
from tandem.notes.actions import NoteError
from tandem.notes.models import PsychotherapyNote
from tandem.notes.private_actions import do_edit_psychotherapy_note, do_write_psychotherapy_note
from tandem.patients.access import PatientGrant
from tandem.patients.views import patient_tabs
from tandem.therapy.models import Session


def _base(grant: PatientGrant, **extra: Any) -> dict[str, Any]:
    return {
        "grant": grant,
        "patient": grant.patient,
        "tabs": patient_tabs(grant),
        "tab": "therapy",
        "age": grant.patient.age_on(timezone.localdate()),
        **extra,
    }


def _my_sessions(grant: PatientGrant, user: Any) -> list[dict[str, Any]]:
    tz = grant.patient.tz
    sessions = Session.objects.filter(patient=grant.patient, clinician=user).order_by("-starts_at")[:60]
    return [
        {"id": s.pk, "when": timezone.localtime(s.starts_at, tz), "label": s.get_kind_display()}
        for s in sessions
    ]


def _session(grant: PatientGrant, user: Any, raw: str) -> Session | None:
    raw = raw.strip()
    if not raw:
        return None
    session = None
    if raw.isdigit() and len(raw) < 19:
        session = Session.objects.filter(pk=int(raw), patient=grant.patient, clinician=user).first()
    if session is None:
        raise NoteError("session", "is not one of your sessions with this patient")
    return session


@never_cache
@login_required
def private_list(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_psychotherapy_author(request, patient_id)
    notes = PsychotherapyNote.objects.filter(patient=grant.patient, author=request.user).select_related(
        "session"
    )
    page = paginate(request, notes, per_page=25)
    tz = grant.patient.tz
    rows = [
        {
            "note": n,
            "when": timezone.localtime(n.created_at, tz),
            "first_line": next((line.strip() for line in n.text.splitlines() if line.strip()), "")[:120],
        }
        for n in page.object_list
    ]
    return render(request, "notes/private_list.html", _base(grant, page=page, rows=rows))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def private_new(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_psychotherapy_author(request, patient_id)
    errors: dict[str, str] = {}
    typed = {"text": "", "session": request.GET.get("session", ""), "key": secrets.token_hex(16)}
    if request.method == "POST":
        typed = {k: request.POST.get(k, "") for k in ("text", "session", "key")}
        try:
            note, _ = do_write_psychotherapy_note(
                grant.patient,
                typed["text"],
                acting_user=request.user,
                session=_session(grant, request.user, typed["session"]),
                idempotency_key=typed["key"],
                role=grant.role,
                request=request,
            )
        except NoteError as exc:
            errors[exc.field] = str(exc)
        else:
            messages.success(request, "Private note saved. Only you can read it.")
            return redirect("notes:private", patient_id=grant.patient.pk, note_id=note.pk)
    context = _base(grant, note=None, typed=typed, errors=errors, sessions=_my_sessions(grant, request.user))
    return render(request, "notes/private_note.html", context, status=400 if errors else 200)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def private(request: AuthenticatedHttpRequest, patient_id: int, note_id: int) -> HttpResponse:
    grant, note = access.access_psychotherapy_note(request, patient_id, note_id)
    errors: dict[str, str] = {}
    typed = {"text": note.text, "session": str(note.session_id or "")}
    if request.method == "POST":
        typed = {k: request.POST.get(k, "") for k in ("text", "session")}
        try:
            _, changed = do_edit_psychotherapy_note(
                note,
                typed["text"],
                acting_user=request.user,
                session=_session(grant, request.user, typed["session"]),
                role=grant.role,
                request=request,
            )
        except NoteError as exc:
            errors[exc.field] = str(exc)
        else:
            if changed:
                messages.success(request, "Private note saved.")
            return redirect("notes:private", patient_id=grant.patient.pk, note_id=note.pk)
    context = _base(
        grant,
        note=note,
        when=timezone.localtime(note.created_at, grant.patient.tz),
        updated=timezone.localtime(note.updated_at, grant.patient.tz),
        typed=typed,
        errors=errors,
        sessions=_my_sessions(grant, request.user),
    )
    return render(request, "notes/private_note.html", context, status=400 if errors else 200)


urlpatterns = [
    path("<int:patient_id>/therapy/private-notes/", private_list, name="private_list"),
    path("<int:patient_id>/therapy/private-notes/new/", private_new, name="private_new"),
    path("<int:patient_id>/therapy/private-notes/<int:note_id>/", private, name="private"),
]
