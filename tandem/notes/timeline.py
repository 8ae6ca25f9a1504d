"""Timeline sources of session notes (consent category "therapy summaries"): signed progress
notes and their addenda. Drafts are never shown, and psychotherapy notes are never a source."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from tandem.lib.timeline import QuerySource, TimelineEvent, display_name, register
from tandem.notes.actions import note_url
from tandem.notes.models import NoteStatus, ProgressNote, ProgressNoteAddendum
from tandem.patients.models import Category, Patient


def _first_line(text: str) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line[:300]


def _session_label(note: ProgressNote, patient: Patient) -> str:
    day = timezone.localtime(note.session.starts_at, patient.tz)
    modality = note.get_modality_display() if note.modality else note.session.get_kind_display()
    return f"{modality} on {day:%-d %b %Y}"


class ProgressNoteSigned(QuerySource):
    kind, label, category = "progress_note", "Progress notes", Category.THERAPY_SUMMARIES
    timestamp = "signed_at"

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return ProgressNote.objects.filter(patient=patient, status=NoteStatus.SIGNED).select_related(
            "session", "signed_by", "patient"
        )

    def event(self, row: ProgressNote) -> TimelineEvent:
        assert row.signed_at is not None
        risk = " — high risk recorded" if row.risk_level == "high" else ""
        return TimelineEvent(
            at=row.signed_at,
            kind=self.kind,
            title=f"Progress note: {_session_label(row, row.patient)}{risk}",
            detail=row.summary_first_line()[:300],
            actor=display_name(row.signed_by),
            link=note_url(row),
        )


class AddendumAdded(QuerySource):
    kind, label, category = "progress_note", "Progress notes", Category.THERAPY_SUMMARIES

    def queryset(self, patient: Patient) -> QuerySet[Any]:
        return ProgressNoteAddendum.objects.filter(note__patient=patient).select_related(
            "author", "note__session", "note__patient"
        )

    def event(self, row: ProgressNoteAddendum) -> TimelineEvent:
        return TimelineEvent(
            at=row.created_at,
            kind=self.kind,
            title=f"Addendum to the progress note: {_session_label(row.note, row.note.patient)}",
            detail=_first_line(row.text),
            actor=display_name(row.author),
            link=note_url(row.note),
        )


for source in (ProgressNoteSigned(), AddendumAdded()):
    register(source)
