"""The demo's practice (idempotent) and the synthetic population's."""

from __future__ import annotations

import io
import random
from datetime import date

import pytest
from django.core.management import call_command

from tandem.accounts.models import User
from tandem.core.seeding import SynthContext
from tandem.lib.progress import ProgressBar
from tandem.practice import synth
from tandem.practice.models import Assignment, Entry, EntryStatus

pytestmark = pytest.mark.django_db


def test_the_demo_gives_maya_practice_in_progress_and_running_it_twice_adds_nothing(db):
    call_command("demo", stdout=io.StringIO())
    maya = User.objects.get(email="patient@demo.tandem").patient
    kinds = set(Assignment.objects.filter(patient=maya).values_list("template", flat=True))
    assert kinds == {"thought_record", "diary_card", "activity_schedule"}
    record = Assignment.objects.get(patient=maya, template="thought_record")
    sent = Entry.objects.filter(assignment=record, status=EntryStatus.SUBMITTED)
    assert sent.count() == 2 and sent.exclude(comment="").count() == 1
    assert Entry.objects.filter(assignment=record, status=EntryStatus.DRAFT).count() == 1
    diary = Assignment.objects.get(patient=maya, template="diary_card")
    assert 7 <= Entry.objects.filter(assignment=diary, status=EntryStatus.SUBMITTED).count() <= 10
    counts = (Assignment.objects.count(), Entry.objects.count())
    call_command("demo", stdout=io.StringIO())
    assert (Assignment.objects.count(), Entry.objects.count()) == counts


def test_synth_gives_a_share_of_patients_practice_in_bulk(db):
    from tandem.accounts import synth as accounts_synth
    from tandem.patients import synth as patients_synth

    ctx = SynthContext(
        patients=50,
        seed=3,
        rng=random.Random(3),
        anchor=date(2026, 1, 5),
        progress=ProgressBar(disable=True),
        batch=500,
    )
    accounts_synth.generate(ctx)
    patients_synth.generate(ctx)
    synth.generate(ctx)
    first, last = ctx.patient_id_range
    share = len([pid for pid in range(first, last + 1) if pid % synth.SHARE == 0])
    assert Assignment.objects.filter(template="thought_record").count() == share
    assert ctx.created["practice entries"] == Entry.objects.count() > 0
    assert not Entry.objects.exclude(status=EntryStatus.SUBMITTED).exists()
    assert not Assignment.objects.filter(assigned_by__isnull=True).exists()
