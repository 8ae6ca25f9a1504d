"""The demo's session notes: complete, modality-appropriate, made once, and nothing at all before
there are attended sessions."""

from __future__ import annotations

import random
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from tandem.core.seeding import DemoContext
from tandem.notes import demo
from tandem.notes.actions import NoteInput
from tandem.notes.models import NoteStatus, ProgressNote, ProgressNoteAddendum, PsychotherapyNote
from tandem.notes.tests.helpers import attended_session
from tandem.notes.vocabulary import GROUP_FOR_MODALITY, INTERVENTION_GROUPS, INTERVENTIONS
from tandem.therapy.models import Session, SessionStatus

pytestmark = pytest.mark.django_db


def context(personas, out=None) -> DemoContext:
    return DemoContext(
        password="x",
        today=timezone.localdate(),
        rng=random.Random(1),
        out=out,
        orgs={"demo-clinic": personas.home},
        users={"therapist@demo.tandem": personas.therapist},
    )


def test_without_attended_sessions_it_makes_nothing_and_says_so(personas):
    attended_session(personas.patient, personas.therapist, status=SessionStatus.SCHEDULED)
    out = StringIO()
    ctx = context(personas, out)
    demo.build(ctx)
    assert not ProgressNote.objects.exists() and not PsychotherapyNote.objects.exists()
    assert "no attended therapy sessions" in out.getvalue() and ctx.created == {}


def test_it_writes_complete_notes_once(personas):
    for days, modality in enumerate(["cbt", "ba", "ipt", "dbt", "supportive", "cbt", "cbt", "ipt"], start=1):
        attended_session(personas.patient, personas.therapist, days_ago=days * 7, modality=modality)
    attended_session(personas.other_patient, personas.colleague, days_ago=3, modality="dbt")
    ctx = context(personas)
    demo.build(ctx)
    notes = list(ProgressNote.objects.select_related("session"))
    assert len(notes) == demo.PER_PATIENT + 1
    for note in notes:
        assert note.modality == note.session.modality and note.author_id == note.session.clinician_id
        assert all(k in INTERVENTIONS for k in note.interventions)
        own = {
            k
            for g in INTERVENTION_GROUPS
            if g.key in (GROUP_FOR_MODALITY[note.modality], "common")
            for k, _ in g.items
        }
        assert set(note.interventions) <= own, note.modality
        if note.status == NoteStatus.SIGNED:
            NoteInput.of(note).check_complete()  # raises if a demo note could not have been signed
            assert note.signed_at is not None and note.signed_at > note.session.starts_at
    assert len({n.summary for n in notes}) > 3
    assert PsychotherapyNote.objects.filter(author=personas.therapist).exists()
    assert not PsychotherapyNote.objects.exclude(author=personas.therapist).exists()
    counts = (
        ProgressNote.objects.count(),
        ProgressNoteAddendum.objects.count(),
        PsychotherapyNote.objects.count(),
    )
    demo.build(context(personas))
    assert (
        ProgressNote.objects.count(),
        ProgressNoteAddendum.objects.count(),
        PsychotherapyNote.objects.count(),
    ) == counts


def test_the_full_demo_has_signed_notes_drafts_addenda_and_private_notes():
    call_command("demo", stdout=StringIO())
    counts = (
        ProgressNote.objects.count(),
        ProgressNoteAddendum.objects.count(),
        PsychotherapyNote.objects.count(),
    )
    # The demo's sessions come from the therapy app; with none attended, the notes demo makes nothing.
    if Session.objects.filter(status=SessionStatus.ATTENDED, kind="therapy").exists():
        assert ProgressNote.objects.filter(status=NoteStatus.SIGNED).count() > 20
        assert ProgressNote.objects.filter(status=NoteStatus.DRAFT).count() == 2
        assert counts[1] == 2 and counts[2] == 3
    else:
        assert counts == (0, 0, 0)
    if counts[2]:
        assert set(PsychotherapyNote.objects.values_list("author__email", flat=True)) == {
            "therapist@demo.tandem"
        }
    call_command("demo", stdout=StringIO())
    assert (
        ProgressNote.objects.count(),
        ProgressNoteAddendum.objects.count(),
        PsychotherapyNote.objects.count(),
    ) == counts


def test_synth_signs_a_note_for_each_attended_session_of_the_first_patients(personas):
    from tandem.core.seeding import SynthContext
    from tandem.notes import synth

    class Quiet:
        def set_description(self, *a): ...
        def reset(self, **k): ...
        def update(self, *a): ...

    attended_session(personas.patient, personas.therapist, days_ago=3)
    attended_session(personas.patient, personas.therapist, days_ago=10, status=SessionStatus.NO_SHOW)
    attended_session(personas.other_patient, personas.colleague, days_ago=4)
    ids = sorted([personas.patient.pk, personas.other_patient.pk])
    ctx = SynthContext(
        patients=2,
        seed=1,
        rng=random.Random(1),
        anchor=timezone.localdate(),
        progress=Quiet(),
        batch=1,
        patient_id_range=(ids[0], ids[1]),
    )
    synth.generate(ctx)
    notes = ProgressNote.objects.all()
    assert notes.count() == 2 and ctx.created["progress notes"] == 2
    assert all(n.status == NoteStatus.SIGNED and n.author_id == n.session.clinician_id for n in notes)
    assert not PsychotherapyNote.objects.exists()
