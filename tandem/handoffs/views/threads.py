"""Message threads of one patient, clinician side: the list with a composer, one thread (opening
it records read receipts) and replies. Care-team members write; a clinician who broke the glass
reads."""

from __future__ import annotations

import secrets

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST

from tandem.handoffs import access
from tandem.handoffs.messaging import (
    MessageError,
    do_mark_read,
    do_post_message,
    do_start_thread,
    thread_messages,
)
from tandem.handoffs.models import Audience, Message, MessageRead, Thread
from tandem.handoffs.views.handoffs import base_context
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.pagination import paginate
from tandem.patients.access import PatientGrant


def _threads(grant: PatientGrant, user_id: int) -> QuerySet[Thread]:
    unread = Message.objects.filter(thread=OuterRef("pk")).exclude(
        Exists(MessageRead.objects.filter(message=OuterRef("pk"), user_id=user_id))
    )
    return (
        Thread.objects.filter(patient=grant.patient)
        .annotate(count=Count("messages"), crisis=Count("messages", filter=Q(messages__crisis=True)))
        .annotate(unread=Exists(unread))
        .order_by("-last_message_at", "-pk")
    )


def _list(
    request: AuthenticatedHttpRequest,
    grant: PatientGrant,
    typed: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> HttpResponse:
    page = paginate(request, _threads(grant, request.user.pk), per_page=30)
    context = base_context(
        grant, tab="messages", page=page, typed=typed, errors=errors, audiences=Audience.choices
    )
    return render(request, "handoffs/threads.html", context, status=status)


@login_required
@require_http_methods(["GET"])
def threads(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_messages_patient(request, patient_id)
    return _list(request, grant, {"key": secrets.token_urlsafe(16), "audience": Audience.TEAM}, {})


@login_required
@require_http_methods(["GET", "POST"])
def new_thread(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    posting = request.method == "POST"
    grant = access.access_messages_patient(request, patient_id, write=posting)
    if not posting:
        return _list(request, grant, {"key": secrets.token_urlsafe(16), "audience": Audience.TEAM}, {})
    typed = {k: request.POST.get(k, "") for k in ("audience", "subject", "body", "key")}
    try:
        thread, _ = do_start_thread(
            grant.patient,
            audience=typed["audience"],
            subject=typed["subject"],
            body=typed["body"],
            acting_user=request.user,
            author_role=grant.role,
            idempotency_key=typed["key"],
            request=request,
        )
    except MessageError as exc:
        if exc.field == "key":
            typed["key"] = secrets.token_urlsafe(16)
        return _list(request, grant, typed, {exc.field: str(exc)}, status=400)
    return redirect("handoffs:thread", patient_id=grant.patient.pk, thread_id=thread.pk)


def _thread_page(
    request: AuthenticatedHttpRequest,
    grant: PatientGrant,
    thread: Thread,
    typed: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> HttpResponse:
    do_mark_read(thread, request.user)
    context = base_context(
        grant,
        tab="messages",
        thread=thread,
        messages_list=thread_messages(thread),
        typed=typed,
        errors=errors,
    )
    return render(request, "handoffs/thread.html", context, status=status)


@login_required
def thread(request: AuthenticatedHttpRequest, patient_id: int, thread_id: int) -> HttpResponse:
    grant = access.access_messages_patient(request, patient_id)
    found = access.access_thread(grant, request, thread_id)
    return _thread_page(request, grant, found, {"key": secrets.token_urlsafe(16)}, {})


@login_required
@require_POST
def reply(request: AuthenticatedHttpRequest, patient_id: int, thread_id: int) -> HttpResponse:
    grant = access.access_messages_patient(request, patient_id, write=True)
    found = access.access_thread(grant, request, thread_id)
    typed = {"body": request.POST.get("body", ""), "key": request.POST.get("key", "")}
    try:
        do_post_message(
            found,
            body=typed["body"],
            acting_user=request.user,
            author_role=grant.role,
            idempotency_key=typed["key"],
            request=request,
        )
    except MessageError as exc:
        if exc.field == "key":
            typed["key"] = secrets.token_urlsafe(16)
        return _thread_page(request, grant, found, typed, {exc.field: str(exc)}, status=400)
    return redirect("handoffs:thread", patient_id=grant.patient.pk, thread_id=found.pk)


urlpatterns = [
    path("<int:patient_id>/messages/", threads, name="threads"),
    path("<int:patient_id>/messages/new/", new_thread, name="thread_new"),
    path("<int:patient_id>/messages/<int:thread_id>/", thread, name="thread"),
    path("<int:patient_id>/messages/<int:thread_id>/reply/", reply, name="reply"),
]
