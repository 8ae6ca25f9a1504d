"""Writes of psychotherapy notes, by their author only. The audit rows say that a private note was
written or changed (its id), by whom and for which patient — never its text, length or a summary.
The audit pages show these events without the id (tandem/templates/audit/org_log.html and the
patient's portal/access_log.html)."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from tandem.accounts.models import User
from tandem.audit.actions import audit_patient_event
from tandem.audit.models import Action
from tandem.notes.actions import TEXT_MAX, NoteError
from tandem.notes.models import PsychotherapyNote
from tandem.patients.models import Patient
from tandem.therapy.models import Session

ENTITY = "PsychotherapyNote"


def _text(text: str) -> str:
    text = text.strip()
    if not text:
        raise NoteError("text", "write the note")
    if len(text) > TEXT_MAX:
        raise NoteError("text", f"is longer than {TEXT_MAX} characters")
    return text


def _session(patient: Patient, session: Session | None, author: User) -> Session | None:
    if session is not None and (session.patient_id != patient.pk or session.clinician_id != author.pk):
        raise NoteError("session", "is not one of your sessions with this patient")
    return session


@transaction.atomic
def do_write_psychotherapy_note(
    patient: Patient,
    text: str,
    *,
    acting_user: User,
    session: Session | None = None,
    idempotency_key: str = "",
    role: str = "",
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> tuple[PsychotherapyNote, bool]:
    """A new private note by `acting_user`; (note, created). The same idempotency key returns
    the first note, so a double submit writes one note."""
    key = idempotency_key.strip()[:64]
    if key:
        existing = PsychotherapyNote.objects.filter(author=acting_user, idempotency_key=key).first()
        if existing is not None and existing.patient_id == patient.pk:
            return existing, False
        if existing is not None:
            raise NoteError("idempotency_key", "was already used; reload the page")
    text = _text(text)
    session = _session(patient, session, acting_user)
    now = now or timezone.now()
    try:
        with transaction.atomic():
            note = PsychotherapyNote.objects.create(
                patient=patient,
                author=acting_user,
                session=session,
                text=text,
                created_at=now,
                updated_at=now,
                idempotency_key=key,
            )
    except IntegrityError:
        return PsychotherapyNote.objects.get(author=acting_user, idempotency_key=key), False
    audit_patient_event(acting_user, Action.CREATE, ENTITY, note.pk, patient, request=request, role=role)
    return note, True


@transaction.atomic
def do_edit_psychotherapy_note(
    note: PsychotherapyNote,
    text: str,
    *,
    acting_user: User,
    session: Session | None = None,
    role: str = "",
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> tuple[PsychotherapyNote, bool]:
    """The author changes their note; (note, changed)."""
    note = PsychotherapyNote.objects.select_for_update().select_related("patient").get(pk=note.pk)
    if note.author_id != acting_user.pk:
        raise NoteError("note", "is not yours")
    text = _text(text)
    session = _session(note.patient, session, acting_user)
    if note.text == text and note.session_id == (session.pk if session else None):
        return note, False
    note.text = text
    note.session = session
    note.updated_at = now or timezone.now()
    note.save(update_fields=["text", "session", "updated_at"])
    audit_patient_event(acting_user, Action.UPDATE, ENTITY, note.pk, note.patient, request=request, role=role)
    return note, True
