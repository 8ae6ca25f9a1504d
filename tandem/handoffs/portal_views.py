"""Messages in the portal: the patient's threads with their care team (only those shared with
them), a composer that says messages are not for emergencies, and crisis resources shown at once
when the patient's message contains crisis words. A hidden key makes a double tap send once."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tandem.handoffs.access import access_own_thread
from tandem.handoffs.messaging import (
    PATIENT,
    MessageError,
    do_mark_read,
    do_post_message,
    do_start_thread,
    thread_messages,
)
from tandem.handoffs.models import Audience, Message, MessageRead, Thread
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.pagination import paginate
from tandem.patients.access import PatientGrant, access_own_patient

ENTITY = "MessageThread"


def _key() -> str:
    return secrets.token_urlsafe(16)


@login_required
def threads(request: AuthenticatedHttpRequest) -> HttpResponse:
    grant = access_own_patient(request, entity=ENTITY)
    unread = Message.objects.filter(thread=OuterRef("pk")).exclude(
        Exists(MessageRead.objects.filter(message=OuterRef("pk"), user_id=request.user.pk))
    )
    shared = (
        Thread.objects.filter(patient=grant.patient, audience=Audience.TEAM_PATIENT)
        .annotate(unread=Exists(unread))
        .order_by("-last_message_at", "-pk")
    )
    page = paginate(request, shared, per_page=20)
    return render(request, "portal/handoffs/threads.html", {"patient": grant.patient, "page": page})


def _composer(
    request: AuthenticatedHttpRequest,
    grant: PatientGrant,
    typed: dict[str, str],
    errors: dict[str, str],
    status: int,
) -> HttpResponse:
    context = {"patient": grant.patient, "typed": typed, "errors": errors}
    return render(request, "portal/handoffs/new.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def new_thread(request: AuthenticatedHttpRequest) -> HttpResponse:
    posting = request.method == "POST"
    grant = access_own_patient(request, entity=ENTITY, audit_read=not posting)
    if not posting:
        return _composer(request, grant, {"key": _key()}, {}, 200)
    typed = {k: request.POST.get(k, "") for k in ("subject", "body", "key")}
    try:
        found, _ = do_start_thread(
            grant.patient,
            audience=Audience.TEAM_PATIENT,
            subject=typed["subject"],
            body=typed["body"],
            acting_user=request.user,
            author_role=PATIENT,
            idempotency_key=typed["key"],
            request=request,
        )
    except MessageError as exc:
        if exc.field == "key":
            typed["key"] = _key()
        return _composer(request, grant, typed, {exc.field: str(exc)}, 400)
    return redirect("portal_handoffs:thread", thread_id=found.pk)


def _thread_page(
    request: AuthenticatedHttpRequest,
    grant: PatientGrant,
    found: Thread,
    typed: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> HttpResponse:
    do_mark_read(found, request.user)
    rows = thread_messages(found)
    own = [m for m in rows if m.author_id == request.user.pk]
    context: dict[str, Any] = {
        "patient": grant.patient,
        "thread": found,
        "messages_list": rows,
        "crisis": bool(own) and own[-1].crisis,
        "typed": typed,
        "errors": errors,
    }
    return render(request, "portal/handoffs/thread.html", context, status=status)


@login_required
def thread(request: AuthenticatedHttpRequest, thread_id: int) -> HttpResponse:
    grant, found = access_own_thread(request, thread_id)
    return _thread_page(request, grant, found, {"key": _key()}, {})


@login_required
@require_POST
def reply(request: AuthenticatedHttpRequest, thread_id: int) -> HttpResponse:
    grant, found = access_own_thread(request, thread_id, audit_read=False)
    typed = {"body": request.POST.get("body", ""), "key": request.POST.get("key", "")}
    try:
        do_post_message(
            found,
            body=typed["body"],
            acting_user=request.user,
            author_role=PATIENT,
            idempotency_key=typed["key"],
            request=request,
        )
    except MessageError as exc:
        if exc.field == "key":
            typed["key"] = _key()
        return _thread_page(request, grant, found, typed, {exc.field: str(exc)}, status=400)
    return redirect("portal_handoffs:thread", thread_id=found.pk)
