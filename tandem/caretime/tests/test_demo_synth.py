"""The demo's care time (idempotent, every kind of month) and the synthetic population's."""

from __future__ import annotations

import io
import random
from datetime import date

import pytest
from django.core.management import call_command

from tandem.caretime import synth
from tandem.caretime.actions import patient_today
from tandem.caretime.models import TimeEntry
from tandem.caretime.report import month_start, months_for, previous_month
from tandem.core.seeding import SynthContext
from tandem.lib.progress import ProgressBar
from tandem.patients.models import CareTeamMember

pytestmark = pytest.mark.django_db


def test_the_demo_shows_a_first_month_add_on_time_and_a_month_below_threshold(db):
    call_command("demo", stdout=io.StringIO())
    assert TimeEntry.objects.exists()
    codes: set[str] = set()
    below = 0
    for month in TimeEntry.objects.values_list("month", flat=True).distinct():
        for pm in months_for(None, month):
            found = {c.code for c in pm.codes}
            codes |= found
            below += not found & {"99492", "99493"}
    assert {"99492", "99493", "99494"} <= codes
    assert below >= 1
    for entry in TimeEntry.objects.select_related("patient"):
        member = CareTeamMember.objects.filter(patient=entry.patient, user=entry.user).first()
        assert member is not None and entry.day >= member.start
        assert entry.day <= patient_today(entry.patient)
        assert entry.month >= previous_month(month_start(patient_today(entry.patient)))
    count = TimeEntry.objects.count()
    call_command("demo", stdout=io.StringIO())
    assert TimeEntry.objects.count() == count


def test_synth_gives_a_share_of_patients_care_time_in_bulk(db):
    from tandem.accounts import synth as accounts_synth
    from tandem.patients import synth as patients_synth

    ctx = SynthContext(
        patients=60,
        seed=3,
        rng=random.Random(3),
        anchor=date(2026, 1, 5),
        progress=ProgressBar(disable=True),
        batch=25,
    )
    accounts_synth.generate(ctx)
    patients_synth.generate(ctx)
    synth.generate(ctx)
    first, last = ctx.patient_id_range
    share = {pid for pid in range(first, last + 1) if pid % synth.SHARE[1] < synth.SHARE[0]}
    assert set(TimeEntry.objects.values_list("patient_id", flat=True)) == share
    assert ctx.created["care-time entries"] == TimeEntry.objects.count()
    starts = dict(CareTeamMember.objects.filter(role="care_manager").values_list("patient_id", "start"))
    for pid, day, month in TimeEntry.objects.values_list("patient_id", "day", "month"):
        assert starts[pid] <= day <= ctx.anchor
        assert month == month_start(day) >= date(2025, 12, 1)
    assert not TimeEntry.objects.exclude(role="care_manager").exists()
