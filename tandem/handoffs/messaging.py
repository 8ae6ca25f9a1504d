"""Messages: starting a thread, posting to it and read receipts. One transaction each, audited.

Messages are plain text: there is no attachment of any kind, so no note can be attached or
quoted by reference. When the patient writes words from the crisis list (crisis.py) the message
is flagged, the portal shows crisis resources, and the team gets an urgent alert that says a
message needs reading without quoting it.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.actions import do_notify
from tandem.accounts.models import User
from tandem.audit.actions import audit_patient_event
from tandem.audit.models import Action
from tandem.collab.actions import do_raise_alert
from tandem.collab.models import Severity
from tandem.handoffs.actions import team_members
from tandem.handoffs.crisis import has_crisis_words
from tandem.handoffs.kinds import TEXT_MAX, HandoffError
from tandem.handoffs.models import Audience, Message, MessageRead, Thread
from tandem.patients.models import Patient

PATIENT = "patient"
SUBJECT_MAX = 200
KEY_MIN, KEY_MAX = 8, 64
CRISIS_RULE = "handoffs.message_crisis_words"
CRISIS_ROLES = ["therapist", "prescriber", "care_manager", "psychiatric_consultant"]


class MessageError(HandoffError):
    pass


def _key(value: str) -> str:
    key = (value or "").strip()
    if not KEY_MIN <= len(key) <= KEY_MAX:
        raise MessageError("key", "this message could not be sent; check it and send it again")
    return key


def _body(value: str) -> str:
    body = (value or "").strip()
    if not body:
        raise MessageError("body", "write a message")
    if len(body) > TEXT_MAX:
        raise MessageError("body", f"at most {TEXT_MAX} characters (this is {len(body)})")
    return body


def thread_url(thread: Thread, *, portal: bool = False) -> str:
    if portal:
        return reverse("portal_handoffs:thread", kwargs={"thread_id": thread.pk})
    return reverse("handoffs:thread", kwargs={"patient_id": thread.patient_id, "thread_id": thread.pk})


def do_start_thread(
    patient: Patient,
    *,
    audience: str,
    subject: str,
    body: str,
    acting_user: User,
    author_role: str,
    idempotency_key: str,
    request: HttpRequest | None = None,
) -> tuple[Thread, bool]:
    """A new thread with its first message; (thread, created). A patient's thread is always
    shared with them; the same key from the same person returns the first thread."""
    if author_role == PATIENT:
        audience = Audience.TEAM_PATIENT
    if audience not in Audience.values:
        raise MessageError("audience", "choose who sees the thread")
    subject = " ".join((subject or "").split())
    if not subject:
        raise MessageError("subject", "give the thread a subject")
    if len(subject) > SUBJECT_MAX:
        raise MessageError("subject", f"at most {SUBJECT_MAX} characters (this is {len(subject)})")
    text = _body(body)
    key = _key(idempotency_key)
    existing = Thread.objects.filter(created_by=acting_user, idempotency_key=key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            now = timezone.now()
            thread = Thread.objects.create(
                patient=patient,
                audience=audience,
                subject=subject,
                created_by=acting_user,
                created_at=now,
                last_message_at=now,
                idempotency_key=key,
            )
            audit_patient_event(
                acting_user,
                Action.CREATE,
                "MessageThread",
                thread.pk,
                patient,
                request=request,
                role=author_role,
                audience=audience,
            )
            _post(thread, text, acting_user, author_role, key, request, now)
    except IntegrityError:
        existing = Thread.objects.filter(created_by=acting_user, idempotency_key=key).first()
        if existing is None:
            raise
        return existing, False
    return thread, True


def do_post_message(
    thread: Thread,
    *,
    body: str,
    acting_user: User,
    author_role: str,
    idempotency_key: str,
    request: HttpRequest | None = None,
) -> tuple[Message, bool]:
    """A reply in a thread; (message, created). The same key from the same person returns the
    first message, so a double tap sends once."""
    if author_role == PATIENT and thread.audience != Audience.TEAM_PATIENT:
        raise MessageError("thread", "this thread is not shared with the patient")
    text = _body(body)
    key = _key(idempotency_key)
    existing = Message.objects.filter(author=acting_user, idempotency_key=key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            message = _post(thread, text, acting_user, author_role, key, request, timezone.now())
    except IntegrityError:
        existing = Message.objects.filter(author=acting_user, idempotency_key=key).first()
        if existing is None:
            raise
        return existing, False
    return message, True


def _post(
    thread: Thread,
    text: str,
    author: User,
    author_role: str,
    key: str,
    request: HttpRequest | None,
    now: datetime,
) -> Message:
    patient = thread.patient
    crisis = author_role == PATIENT and has_crisis_words(text)
    message = Message.objects.create(
        thread=thread,
        author=author,
        author_role=author_role,
        body=text,
        crisis=crisis,
        created_at=now,
        idempotency_key=key,
    )
    MessageRead.objects.create(message=message, user=author, read_at=now)
    Thread.objects.filter(pk=thread.pk).update(last_message_at=now)
    audit_patient_event(
        author,
        Action.CREATE,
        "Message",
        message.pk,
        patient,
        request=request,
        role=author_role,
        thread=thread.pk,
        crisis=crisis,
    )
    link = settings.SITE_URL + thread_url(thread)
    team = [m.user for m in team_members(patient) if m.user_id != author.pk]
    do_notify(team, f"New message about {patient.name}", link=link)
    if author_role != PATIENT and thread.with_patient and patient.portal_user_id:
        do_notify(
            [patient.portal_user],  # type: ignore[list-item]
            "You have a new message from your care team",
            link=settings.SITE_URL + thread_url(thread, portal=True),
        )
    if crisis:
        do_raise_alert(
            patient,
            kind="message_crisis",
            severity=Severity.URGENT,
            title="Crisis words in a message from the patient",
            reason=(
                "A message the patient sent contains words from Tandem's crisis word list. They "
                "were shown crisis resources at once. Read the message and contact the patient today."
            ),
            rule_id=CRISIS_RULE,
            source="Crisis word list, tandem/handoffs/crisis.py (general knowledge, unverified)",
            dedup_key=f"message_crisis:{thread.pk}",
            route_to=CRISIS_ROLES,
            subject=message,
            link=thread_url(thread),
            escalate=True,  # must be acknowledged in the organisation's window, or it escalates
        )
    return message


def do_mark_read(thread: Thread, user: User, *, now: datetime | None = None) -> int:
    """Record that the user has read every message of the thread they had not read; how many."""
    now = now or timezone.now()
    read = MessageRead.objects.filter(message__thread=thread, user=user).values("message_id")
    unread = list(Message.objects.filter(thread=thread).exclude(pk__in=read).values_list("pk", flat=True))
    if unread:
        MessageRead.objects.bulk_create(
            [MessageRead(message_id=pk, user=user, read_at=now) for pk in unread], ignore_conflicts=True
        )
    return len(unread)


def thread_messages(thread: Thread) -> list[Message]:
    """The thread's messages with their authors and, as `receipts`, who else read each one and
    when (three queries)."""
    rows = list(
        Message.objects.filter(thread=thread)
        .select_related("author")
        .prefetch_related("reads__user")
        .order_by("created_at", "pk")
    )
    for message in rows:
        message.receipts = [r for r in message.reads.all() if r.user_id != message.author_id]  # type: ignore[attr-defined]
    return rows
