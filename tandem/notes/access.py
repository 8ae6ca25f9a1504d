"""Who may see and write session notes.

Progress notes: the care team and clinicians consented for "therapy summaries" read signed
notes (break-glass too: the progress note is part of the record). A draft is its author's
working copy until signed: nobody else opens it. The session's clinician, on the care team,
writes and signs the note and adds addenda to it.

Psychotherapy notes: the author alone, on the care team as a therapist. After the patient grant
the note must be the requesting user's own; anybody else — team members, administrators,
break-glass, consented clinicians, the patient — gets the same 404 as a missing id, audited as a
denial that carries no text.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest

from tandem.accounts.access import memberships
from tandem.accounts.models import Role
from tandem.audit.access import record_denied
from tandem.audit.actions import record_audit
from tandem.audit.models import Action
from tandem.notes.models import ProgressNote, PsychotherapyNote
from tandem.patients.access import PatientGrant, access_patient, audit_patient_read
from tandem.patients.models import Category
from tandem.therapy.models import Session

PROGRESS = "ProgressNote"
PRIVATE = "PsychotherapyNote"


def _pk(raw: Any) -> int | None:
    text = str(raw)
    return int(text) if text.isdigit() and len(text) < 19 else None


def access_notes_patient(request: HttpRequest, patient_id: Any, *, entity: str = PROGRESS) -> PatientGrant:
    """The patient, for reading therapy summaries; the read is audited by the caller's page."""
    return access_patient(
        request, patient_id, need=Category.THERAPY_SUMMARIES, entity=entity, audit_read=False
    )


def may_write_for(grant: PatientGrant, session: Session, user: Any) -> bool:
    return grant.basis == "care_team" and session.clinician_id == user.pk


def access_session_to_write(grant: PatientGrant, request: HttpRequest, session_id: Any) -> Session:
    """A session of the grant's patient whose note the requesting user writes; 404 (audited) otherwise."""
    pk = _pk(session_id)
    session = None
    if pk is not None:
        session = Session.objects.filter(pk=pk, patient=grant.patient).select_related("clinician").first()
    if session is None or not may_write_for(grant, session, request.user):
        record_denied(request, PROGRESS, session_id, patient=grant.patient)
        raise Http404
    audit_patient_read(request, grant, entity=PROGRESS, need="write")
    return session


def access_progress_note(grant: PatientGrant, request: HttpRequest, session_id: Any) -> ProgressNote:
    """The note of one session of the grant's patient: signed for every reader, a draft for its
    author only; 404 (audited) otherwise."""
    pk = _pk(session_id)
    note = None
    if pk is not None:
        note = (
            ProgressNote.objects.filter(session_id=pk, patient=grant.patient)
            .select_related("session", "session__clinician", "author", "signed_by")
            .first()
        )
    if note is None or (not note.is_signed and note.author_id != request.user.pk):
        record_denied(request, PROGRESS, session_id, patient=grant.patient)
        raise Http404
    audit_patient_read(request, grant, entity=PROGRESS, need=Category.THERAPY_SUMMARIES)
    return note


def may_add_addendum(grant: PatientGrant, note: ProgressNote, user: Any) -> bool:
    return grant.basis == "care_team" and note.is_signed and note.author_id == user.pk


# --- Psychotherapy notes --------------------------------------------------------------------


def may_keep_psychotherapy_notes(grant: PatientGrant) -> bool:
    """Therapists on the patient's care team keep psychotherapy notes (each sees only their own)."""
    return grant.basis == "care_team" and grant.role == Role.THERAPIST


def access_psychotherapy_author(request: HttpRequest, patient_id: Any) -> PatientGrant:
    """The patient, for a therapist on the team listing or writing their own private notes."""
    grant = access_notes_patient(request, patient_id, entity=PRIVATE)
    if not may_keep_psychotherapy_notes(grant):
        record_denied(request, PRIVATE, "", patient=grant.patient)
        raise Http404
    _audit_private_read(request, grant, "")
    return grant


def access_psychotherapy_note(
    request: HttpRequest, patient_id: Any, note_id: Any
) -> tuple[PatientGrant, PsychotherapyNote]:
    """The requesting user's own psychotherapy note, or Http404 — the same for a missing id,
    another patient's note and another author's note — with the denial audited (no text)."""
    grant = access_notes_patient(request, patient_id, entity=PRIVATE)
    pk = _pk(note_id)
    note = None
    if pk is not None and may_keep_psychotherapy_notes(grant):
        note = PsychotherapyNote.objects.filter(
            pk=pk, patient=grant.patient, author_id=request.user.pk
        ).first()
    if note is None or note.author_id != request.user.pk:
        record_denied(request, PRIVATE, note_id if pk is not None else "", patient=grant.patient)
        raise Http404
    _audit_private_read(request, grant, note.pk)
    return grant, note


def _audit_private_read(request: HttpRequest, grant: PatientGrant, note_id: int | str) -> None:
    """A read of the author's own notes (one note, or the list when `note_id` is ""): who, which
    patient, which note id — never the text."""
    orgs = [m.organisation_id for m in memberships(request.user)]
    org = grant.patient.organisation_id if grant.patient.organisation_id in orgs or not orgs else orgs[0]
    record_audit(
        actor=request.user,  # type: ignore[arg-type]
        action=Action.READ,
        entity_type=PRIVATE,
        entity_id=note_id,
        patient=grant.patient,
        role=grant.role,
        organisation=org,
        request=request,
        extra={"basis": grant.basis, "need": "own"},
    )
