"""The demo trajectories (idempotent, one of each kind) and the synthetic responses."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tandem.measures.models import InstrumentResponse, TreatmentSignal
from tandem.measures.signals.job import evaluate_all

pytestmark = pytest.mark.django_db


def test_the_demo_has_every_trajectory_and_loads_once(capsys):
    call_command("demo")
    responses = InstrumentResponse.objects.filter(idempotency_key__startswith="demo-t2t").count()
    assert responses > 100
    signals = TreatmentSignal.objects.all()
    states = {s.state for s in signals}
    assert {"response", "remission", "early_non_improvement", "needs_case_review"} <= states
    review = signals.filter(state="needs_case_review")
    assert review.filter(adequacy="adequate").exists()  # non-responders with good adherence
    assert review.filter(adequacy="inadequate").exists()  # non-adherent non-improvers
    assert not InstrumentResponse.objects.filter(
        idempotency_key__startswith="demo-t2t", item9__gte=1
    ).exists()
    call_command("demo")
    assert InstrumentResponse.objects.filter(idempotency_key__startswith="demo-t2t").count() == responses


def test_synth_gives_every_patient_phq9_and_gad7_every_two_weeks():
    call_command("synth", patients=12, seed=7, no_progress=True)
    rows = InstrumentResponse.objects.filter(idempotency_key__startswith="synth-")
    assert rows.count() == 12 * 2 * 7
    assert not rows.filter(item9__gte=1).exists() and not rows.filter(scored=False).exists()
    run = evaluate_all()
    assert run.patients == 12 and run.signals == 24
