"""The stored treat-to-target signal: recomputed after each scored response and by the
population job, with alerts raised once per open condition."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tandem.collab.actions import do_resolve_alert
from tandem.collab.models import Alert
from tandem.measures.models import TreatmentSignal
from tandem.measures.signals import job
from tandem.measures.tests.t2t_helpers import log_doses, monthly_fills, score, sessions, start_sertraline

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(personas):
    """Twelve weeks on sertraline 50 mg with every dose taken, refills on time and 8 of 8
    sessions attended; PHQ-9 20 at baseline."""
    now = timezone.now()
    started = now - timedelta(weeks=12)
    regimen = start_sertraline(personas, started)
    monthly_fills(personas.patient, regimen, started - timedelta(days=60), count=8)
    log_doses(personas.patient, regimen, now)
    sessions(personas, started + timedelta(days=1), attended=8)
    score(personas, "phq-9", 20, started - timedelta(days=1), "base-1")
    return now, started


def test_a_non_responder_with_adequate_treatment_needs_case_review_and_a_change(personas, course):
    now, _ = course
    score(personas, "phq-9", 17, now - timedelta(hours=2), "late-1")
    job.evaluate_patient(personas.patient, now)
    signal = TreatmentSignal.objects.get(patient=personas.patient, instrument="phq-9")
    assert signal.state == "needs_case_review"
    assert (signal.baseline_total, signal.latest_total, signal.improvement_percent) == (20, 17, 15)
    assert signal.adequacy == "adequate"
    assert signal.reasons["adequacy"]["headline"] == "Not responding: consider a change of treatment"
    assert signal.reasons["show_adequacy"] is True
    alert = Alert.objects.get(patient=personas.patient, rule_id="t2t.needs_case_review")
    assert alert.severity == "routine" and "consider a change of treatment" in alert.reason
    assert set(alert.route_to) == {"care_manager", "psychiatric_consultant"}
    assert "§B" in alert.source


def test_a_non_adherent_non_improver_is_not_yet_adequately_treated(personas):
    now = timezone.now()
    started = now - timedelta(weeks=12)
    regimen = start_sertraline(personas, started)
    monthly_fills(personas.patient, regimen, started, count=3, gap=14)
    log_doses(personas.patient, regimen, now, taken_every=2)
    score(personas, "phq-9", 18, started - timedelta(days=1), "a")
    score(personas, "phq-9", 17, now - timedelta(hours=1), "b")
    job.evaluate_patient(personas.patient, now)
    signal = TreatmentSignal.objects.get(patient=personas.patient, instrument="phq-9")
    assert signal.adequacy == "inadequate"
    text = signal.reasons["adequacy"]["text"]
    assert text.startswith("Not yet adequately treated: address adherence or engagement first")
    # One dose in two taken: 13 of 26 or 14 of 27 depending on whether today's dose time has passed.
    found = re.search(r"(\d+) of (\d+) scheduled doses taken in the last 28 days \((\d+) %", text)
    assert found, text
    taken, scheduled, percent = (int(g) for g in found.groups())
    assert scheduled in (26, 27) and taken == (scheduled + 1) // 2
    assert percent == round(100 * taken / scheduled) < 80
    pdc = next(p for p in signal.reasons["adequacy"]["parts"] if p["key"] == "pdc")
    assert "PDC cannot be computed yet" in pdc["text"]  # under 91 days of fills: said, not guessed


def test_a_responder_raises_no_alert(personas, course):
    now, _ = course
    score(personas, "phq-9", 9, now - timedelta(hours=1), "late-1")
    job.evaluate_patient(personas.patient, now)
    assert TreatmentSignal.objects.get(patient=personas.patient).state == "response"
    assert not Alert.objects.filter(patient=personas.patient, kind=job.ALERT_KIND).exists()


def test_an_alert_is_raised_once_and_again_only_on_a_newer_score_after_resolution(personas, course):
    now, _ = course
    score(personas, "phq-9", 18, now - timedelta(hours=3), "late-1")
    job.evaluate_patient(personas.patient, now)
    first = job.evaluate_patient(personas.patient, now)
    assert first.raised == 0 and first.open_already == 1
    alert = Alert.objects.get(patient=personas.patient, rule_id="t2t.needs_case_review")
    do_resolve_alert(
        alert, note="Reviewed with Dr Con Sultant: switch planned", acting_user=personas.care_manager
    )
    assert job.evaluate_patient(personas.patient, now).raised == 0
    score(personas, "phq-9", 18, timezone.now(), "late-2")  # received after the resolution
    assert job.evaluate_patient(personas.patient, timezone.now() + timedelta(minutes=2)).raised == 1
    assert Alert.objects.filter(patient=personas.patient, rule_id="t2t.needs_case_review").count() == 2


def test_reliable_deterioration_raises_a_high_alert_to_the_whole_team(personas, course):
    now, _ = course
    score(personas, "phq-9", 25, now - timedelta(hours=1), "late-1")
    job.evaluate_patient(personas.patient, now)
    alert = Alert.objects.get(patient=personas.patient, rule_id="t2t.reliable_deterioration")
    assert alert.severity == "high" and set(alert.route_to) == {"care_manager", "prescriber", "therapist"}


def test_each_scored_response_recomputes_the_signal_once_committed(
    personas, course, django_capture_on_commit_callbacks
):
    now, _ = course
    with django_capture_on_commit_callbacks(execute=True):
        score(personas, "phq-9", 8, now - timedelta(hours=1), "late-1")
    assert TreatmentSignal.objects.get(patient=personas.patient, instrument="phq-9").state == "response"


def test_an_incomplete_form_recomputes_nothing(personas, django_capture_on_commit_callbacks):
    from tandem.measures.actions import do_record_response

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        do_record_response(
            personas.patient,
            instrument="phq-9",
            answers={"/44250-9": "LA6570-1"},
            administered_by="patient",
            source="portal",
            idempotency_key="partial-1",
            acting_user=personas.patient_user,
        )
    assert callbacks == [] and not TreatmentSignal.objects.exists()


def test_the_population_job_reads_each_batch_in_a_fixed_number_of_queries(personas, course):
    now, _ = course
    score(personas, "phq-9", 9, now - timedelta(hours=1), "late-1")
    with CaptureQueriesContext(connection) as one:
        job.evaluate_all(now)
    score(personas, "gad-7", 15, now - timedelta(days=30), "g1")
    score(personas, "gad-7", 6, now - timedelta(hours=1), "g2")
    other = personas.other_patient
    from tandem.measures.actions import do_record_response
    from tandem.measures.tests.helpers import phq9

    first, later = [2, 2, 2, 2, 1, 1, 0, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0, 0]  # 10 → 4: remission, no alert
    for n, (at, values) in enumerate(((now - timedelta(days=40), first), (now - timedelta(days=2), later))):
        do_record_response(
            other,
            instrument="phq-9",
            answers=phq9(values),
            administered_by="patient",
            source="portal",
            idempotency_key=f"other-patient-{n}",
            acting_user=personas.other_patient_user,
            authored_at=at,
        )
    with CaptureQueriesContext(connection) as two:
        run = job.evaluate_all(now)
    assert run.patients == 2 and run.signals == 3
    assert len(two.captured_queries) == len(one.captured_queries)


def test_the_signals_command_reports_what_it_did(personas, course, capsys):
    now, _ = course
    score(personas, "phq-9", 9, now - timedelta(hours=1), "late-1")
    call_command("signals")
    out = capsys.readouterr().out
    assert "1 patients in 1 batches: 1 signals (1 response)" in out


def test_the_job_is_registered_for_the_worker():
    from tandem.core import jobs

    assert [j.name for j in jobs.registered(["measures.treat_to_target"])] == ["measures.treat_to_target"]
