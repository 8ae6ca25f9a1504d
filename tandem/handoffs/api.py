"""Messages in the JSON API, for the signed-in or token-holding patient: the threads their care
team shares with them (never the team's own threads), as in the portal.

GET /api/messages/threads (scope: Communication search), GET /api/messages/threads/{id} (marks
the thread read, like opening it in the portal; scope: Communication read) and
POST /api/messages/threads/{id}/messages (once per idempotency key; scope: Communication create).
A message with crisis words alerts the team at once, and the response lists the crisis lines the
app must show.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field

from tandem.handoffs.access import access_own_thread
from tandem.handoffs.kinds import TEXT_MAX
from tandem.handoffs.messaging import PATIENT, MessageError, do_mark_read, do_post_message, thread_messages
from tandem.handoffs.models import Audience, Message, MessageRead, Thread
from tandem.lib.api import ERRORS, WRITE_ERRORS, Crisis, crisis_body, invalid, require_scope
from tandem.patients.access import access_own_patient

router = Router(tags=["Messages"])
RESOURCE = "Communication"
ENTITY = "MessageThread"
PER_PAGE = 20
ID_MAX = 2**62
CRISIS_REASON = (
    "Your message has been sent, and your care team has been alerted. They may not read it "
    "straight away. If you might act on thoughts of harming yourself, or you are in danger now, "
    "use these numbers."
)
FIELDS = {"key": "idempotency_key"}


class ThreadOut(Schema):
    id: int
    subject: str
    created_at: datetime
    last_message_at: datetime
    unread: bool = Field(description="a message in it you have not opened")


class ThreadPage(Schema):
    page: int
    next_page: int | None
    items: list[ThreadOut]


class MessageOut(Schema):
    id: int
    author: str = Field(description="the author's name as people read it")
    author_role: str = Field(description="patient, or the care-team role of the author")
    mine: bool
    body: str
    created_at: datetime


class ThreadDetail(Schema):
    id: int
    subject: str
    created_at: datetime
    last_message_at: datetime
    messages: list[MessageOut] = Field(description="oldest first")


class MessageIn(Schema):
    body: str = Field(min_length=1, max_length=TEXT_MAX)
    idempotency_key: str = Field(min_length=8, max_length=64)


class MessageCreated(Schema):
    id: int
    thread: int
    created: bool = Field(description="false when this idempotency key was already used")
    created_at: datetime
    crisis: Crisis


@router.get(
    "/messages/threads",
    response={200: ThreadPage, **ERRORS},
    url_name="message_threads",
    operation_id="message_threads",
    summary="Your message threads with your care team",
)
def threads(request: HttpRequest, page: int = Query(1, ge=1, le=10_000)) -> Any:
    """The threads shared with you, latest message first, 20 a page (scope: Communication
    search). The read is audited."""
    require_scope(request, RESOURCE, "search")
    patient = access_own_patient(request, entity=ENTITY).patient
    unread = Message.objects.filter(thread=OuterRef("pk")).exclude(
        Exists(MessageRead.objects.filter(message=OuterRef("pk"), user_id=cast(int, request.user.pk)))
    )
    start = (page - 1) * PER_PAGE
    rows = list(
        Thread.objects.filter(patient=patient, audience=Audience.TEAM_PATIENT)
        .annotate(unread=Exists(unread))
        .order_by("-last_message_at", "-pk")[start : start + PER_PAGE + 1]
    )
    items = [
        {
            "id": t.pk,
            "subject": t.subject,
            "created_at": t.created_at,
            "last_message_at": t.last_message_at,
            "unread": t.unread,
        }
        for t in rows[:PER_PAGE]
    ]
    return {"page": page, "next_page": page + 1 if len(rows) > PER_PAGE else None, "items": items}


@router.get(
    "/messages/threads/{thread_id}",
    response={200: ThreadDetail, **ERRORS},
    url_name="message_thread",
    operation_id="message_thread",
    summary="Read a thread",
)
def thread(request: HttpRequest, thread_id: int = Path(..., ge=1, le=ID_MAX)) -> Any:
    """Its messages, oldest first; opening it marks them read (scope: Communication read).
    Another patient's thread, or one the team keeps to itself, is 404 like a missing one."""
    require_scope(request, RESOURCE, "read")
    _, found = access_own_thread(request, thread_id)
    do_mark_read(found, request.user)  # type: ignore[arg-type]
    messages = [
        {
            "id": m.pk,
            "author": m.author.display_name,
            "author_role": m.author_role,
            "mine": m.author_id == request.user.pk,
            "body": m.body,
            "created_at": m.created_at,
        }
        for m in thread_messages(found)
    ]
    return {
        "id": found.pk,
        "subject": found.subject,
        "created_at": found.created_at,
        "last_message_at": found.last_message_at,
        "messages": messages,
    }


@router.post(
    "/messages/threads/{thread_id}/messages",
    response={201: MessageCreated, 200: MessageCreated, **WRITE_ERRORS},
    url_name="message_post",
    operation_id="message_post",
    summary="Send a message in a thread",
)
def post_message(
    request: HttpRequest, payload: MessageIn, thread_id: int = Path(..., ge=1, le=ID_MAX)
) -> Any:
    """Sent to your care team (scope: Communication create); 201, or 200 with the first message
    for an idempotency key already used. Messages are not for emergencies: crisis words alert the
    team, and `crisis` lists the lines to call."""
    require_scope(request, RESOURCE, "create")
    grant, found = access_own_thread(request, thread_id, audit_read=False)
    try:
        message, created = do_post_message(
            found,
            body=payload.body,
            acting_user=request.user,  # type: ignore[arg-type]
            author_role=PATIENT,
            idempotency_key=payload.idempotency_key,
            request=request,
        )
    except MessageError as exc:
        return Status(422, invalid(FIELDS.get(exc.field, exc.field), str(exc)))
    body = {
        "id": message.pk,
        "thread": message.thread_id,
        "created": created,
        "created_at": message.created_at,
        "crisis": crisis_body(grant.patient, show=message.crisis, reason=CRISIS_REASON),
    }
    return Status(201 if created else 200, body)
