"""Non-adherence signals: 3 missed doses in a row and PDC below 80 %, raised once per open
condition, routed to the prescriber and the care manager, quiet after resolution until there is
new evidence; the periodic job reads a fixed number of queries per batch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tandem.accounts.models import Notification
from tandem.collab.actions import do_resolve_alert
from tandem.collab.models import Alert
from tandem.core import jobs
from tandem.lib.testing import make_patient
from tandem.lib.timezones import local_date
from tandem.medications import signals
from tandem.medications.actions import do_change_regimen, do_start_regimen
from tandem.medications.adherence import SOURCES
from tandem.medications.fills import do_record_fill
from tandem.medications.models import DoseLog, FillSource
from tandem.medications.queries import patient_due_doses
from tandem.patients.models import CareTeamMember


def start(
    personas, patient=None, drug="sertraline", classes=("ssri",), days_ago=10, times=("08:00",), **extra
):
    return do_start_regimen(
        patient or personas.patient,
        drug_key=drug,
        drug_name=drug.title(),
        drug_classes=list(classes),
        dose_amount=50,
        times=list(times),
        reason="Start",
        acting_user=personas.prescriber,
        role="prescriber",
        effective_at=timezone.now() - timedelta(days=days_ago),
        **extra,
    )


def past_grace(patient, regimen, now):
    """The regimen's doses whose 48-hour window has passed, oldest first."""
    today = local_date(now, patient.time_zone)
    due = patient_due_doses(patient, today - timedelta(days=20), today, regimen_ids=[regimen.pk])
    return sorted(d.due_at for d in due if now - d.due_at >= timedelta(hours=48))


def take_all_but_last(patient, regimen, now, missed: int) -> None:
    doses = past_grace(patient, regimen, now)
    assert len(doses) > missed + 2
    for n, due in enumerate(doses[: len(doses) - missed]):
        DoseLog.objects.create(
            patient=patient,
            regimen=regimen,
            due_at=due,
            status="taken",
            taken_at=due,
            idempotency_key=f"t-{regimen.pk}-{n:04d}",
        )


def alerts(**filters):
    return list(Alert.objects.filter(kind="non_adherence", **filters))


# ---------------------------------------------------------------------------------------------
# Missed doses in a row


@pytest.mark.django_db
def test_three_missed_doses_in_a_row_raise_one_alert_to_the_prescriber_and_care_manager(personas):
    now = timezone.now()
    regimen = start(personas)
    take_all_but_last(personas.patient, regimen, now, missed=3)
    run = signals.evaluate_patient(personas.patient, now)
    assert run.raised == 1
    (alert,) = alerts()
    assert alert.rule_id == "doses.missed_in_a_row" and alert.severity == "high"
    assert alert.dedup_key == f"missed:{regimen.pk}" and alert.route_to == ["prescriber", "care_manager"]
    assert alert.subject_type == "Regimen" and alert.subject_id == str(regimen.pk)
    assert SOURCES["missed_in_a_row"] in alert.source and "48 h" in alert.source
    assert alert.title == "3 missed doses in a row: Sertraline"
    assert "within 48 hours" in alert.reason
    told = set(Notification.objects.values_list("user__email", flat=True))
    assert told == {personas.prescriber.email, personas.care_manager.email}

    again = signals.evaluate_patient(personas.patient, now + timedelta(hours=1))
    assert (again.raised, again.open_already) == (0, 1)
    assert len(alerts()) == 1 and Notification.objects.count() == 2


@pytest.mark.django_db
def test_two_missed_doses_or_doses_still_in_their_window_raise_nothing(personas):
    now = timezone.now()
    regimen = start(personas)
    take_all_but_last(personas.patient, regimen, now, missed=2)
    # Nothing is logged after the last dose past its window: those doses are pending, not missed.
    assert signals.evaluate_patient(personas.patient, now).raised == 0
    assert not alerts()


@pytest.mark.django_db
def test_a_skipped_dose_ends_a_run(personas):
    now = timezone.now()
    regimen = start(personas)
    doses = past_grace(personas.patient, regimen, now)
    take_all_but_last(personas.patient, regimen, now, missed=4)
    DoseLog.objects.create(
        patient=personas.patient,
        regimen=regimen,
        due_at=doses[-2],
        status="skipped",
        reason="nausea",
        idempotency_key="skip-000001",
    )
    assert signals.evaluate_patient(personas.patient, now).raised == 0  # runs of 2 and 1


@pytest.mark.django_db
def test_held_and_as_needed_regimens_are_not_watched(personas):
    now = timezone.now()
    held = start(personas)
    do_change_regimen(held, kind="hold", reason="Surgery", acting_user=personas.prescriber)
    start(
        personas,
        drug="lorazepam",
        classes=("benzodiazepine",),
        schedule_kind="prn",
        times=[],
        prn_max_per_day=2,
    )
    assert signals.evaluate_patient(personas.patient, now).raised == 0


@pytest.mark.django_db
def test_after_resolution_only_a_fresh_run_raises_again(personas):
    now = timezone.now()
    regimen = start(personas)
    take_all_but_last(personas.patient, regimen, now, missed=3)
    signals.evaluate_patient(personas.patient, now)
    (alert,) = alerts()
    do_resolve_alert(alert, note="Called: ran out, refilled today", acting_user=personas.care_manager)
    # The same run, hours later, is the one the resolution was about.
    assert signals.evaluate_patient(personas.patient, now + timedelta(hours=3)).raised == 0
    # Five days on, with nothing recorded since: the doses of the first three days after the
    # resolution are past their window, a new run.
    later = now + timedelta(days=5)
    run = signals.evaluate_patient(personas.patient, later)
    assert run.raised == 1
    assert len(alerts(status="open")) == 1 and len(alerts()) == 2


# ---------------------------------------------------------------------------------------------
# PDC below 80 %


def fill(personas, drug: str, days_ago: int, patient=None, days: int = 30) -> None:
    do_record_fill(
        patient or personas.patient,
        regimen_or_drug=drug,
        fill_date=local_date(timezone.now(), personas.patient.time_zone) - timedelta(days=days_ago),
        days_supply=days,
        source=FillSource.STAFF,
        acting_user=personas.care_manager,
    )


def logged_every_dose(personas, regimen, now) -> None:
    take_all_but_last(personas.patient, regimen, now, missed=0)


@pytest.mark.django_db
def test_pdc_below_80_percent_for_a_current_class_raises_once(personas):
    now = timezone.now()
    regimen = start(personas)
    logged_every_dose(personas, regimen, now)
    fill(personas, "sertraline", 150)  # covers 30 of 151 days
    fill(personas, "sertraline", 60)  # and 30 more: 60 / 151 = 39.7 %
    run = signals.evaluate_patient(personas.patient, now)
    assert run.raised == 1
    (alert,) = alerts()
    assert (alert.rule_id, alert.dedup_key, alert.severity) == ("pdc.below_80", "pdc:ssri", "routine")
    assert alert.route_to == ["prescriber", "care_manager"]
    assert alert.source == SOURCES["pdc_threshold"]
    assert "SSRI: 39 % — 60 of 151 days" in alert.reason
    assert signals.evaluate_patient(personas.patient, now).raised == 0
    assert len(alerts()) == 1


@pytest.mark.django_db
def test_pdc_is_quiet_when_adherent_ineligible_or_the_class_was_stopped(personas):
    now = timezone.now()
    sertraline = start(personas)
    logged_every_dose(personas, sertraline, now)
    for days_ago in (120, 90, 60, 30, 0):
        fill(personas, "sertraline", days_ago)  # 121 of 121 days
    start(personas, drug="lithium", classes=("mood_stabiliser",), days_ago=1)
    fill(personas, "lithium", 100)  # one fill: ineligible
    quetiapine = start(personas, drug="quetiapine", classes=("antipsychotic_sga",), days_ago=1)
    fill(personas, "quetiapine", 170)
    fill(personas, "quetiapine", 100)  # 60 / 171 days, but stopped:
    do_change_regimen(quetiapine, kind="stop", reason="Weight gain", acting_user=personas.prescriber)
    start(
        personas,
        drug="lorazepam",
        classes=("benzodiazepine",),
        times=(),
        schedule_kind="prn",
        prn_max_per_day=2,
    )
    fill(personas, "lorazepam", 170)
    fill(personas, "lorazepam", 100)  # as needed: 60 / 171 days is not a refill gap
    run = signals.evaluate_patient(personas.patient, now)
    assert run.raised == 0 and not alerts(), [(a.rule_id, a.dedup_key, a.reason) for a in alerts()]


@pytest.mark.django_db
def test_a_resolved_pdc_alert_stays_quiet_for_30_days(personas):
    now = timezone.now()
    regimen = start(personas)
    logged_every_dose(personas, regimen, now)
    fill(personas, "sertraline", 120)  # 60 of 121 days; 31 days on, 60 of 152
    fill(personas, "sertraline", 60)
    signals.evaluate_patient(personas.patient, now)
    (alert,) = alerts()
    do_resolve_alert(
        alert, note="Uses a mail-order pharmacy; fills not imported", acting_user=personas.prescriber
    )
    # (Nothing is logged in those days, so a missed-doses alert is raised too: not counted here.)
    signals.evaluate_patient(personas.patient, now + timedelta(days=29))
    assert len(alerts(rule_id="pdc.below_80")) == 1
    signals.evaluate_patient(personas.patient, now + timedelta(days=31))
    assert len(alerts(rule_id="pdc.below_80", status="open")) == 1


# ---------------------------------------------------------------------------------------------
# The periodic job


def patients_with_regimens(personas, n: int, first: int = 0) -> list:
    made = []
    for i in range(first, first + n):
        patient = make_patient(personas.home, f"B-{i}", "Bat", f"Ch{i}")
        CareTeamMember.objects.create(
            patient=patient,
            user=personas.prescriber,
            role="prescriber",
            organisation=personas.home,
            start=local_date(timezone.now(), "UTC") - timedelta(days=30),
        )
        start(personas, patient=patient)
        made.append(patient)
    return made


@pytest.mark.django_db
def test_evaluate_all_reads_a_fixed_number_of_queries_per_batch(personas):
    now = timezone.now()
    patients_with_regimens(personas, 2)
    # Nothing is logged: every patient has missed every dose, and gets one alert, once.
    assert signals.evaluate_all(now, batch=100).raised == 2
    with CaptureQueriesContext(connection) as small:
        first = signals.evaluate_all(now, batch=100)
    patients_with_regimens(personas, 10, first=2)
    assert signals.evaluate_all(now, batch=100).raised == 10
    with CaptureQueriesContext(connection) as large:
        second = signals.evaluate_all(now, batch=100)
    assert (first.patients, second.patients) == (2, 12)
    assert (first.open_already, second.open_already, second.raised) == (2, 12, 0)
    # Patients, active regimens, versions, dose logs, fills, alert states.
    assert len(small) == len(large) == 6
    assert len(alerts()) == 12


@pytest.mark.django_db
def test_evaluate_all_walks_every_batch(personas):
    now = timezone.now()
    made = patients_with_regimens(personas, 5)
    run = signals.evaluate_all(now, batch=2)
    assert run.patients == 5 and run.batches == 3
    assert {a.patient_id for a in alerts()} == {p.pk for p in made}


@pytest.mark.django_db
def test_the_job_is_registered_and_runs(personas, monkeypatch):
    from tandem.medications.jobs import register_jobs

    monkeypatch.setattr(jobs, "_jobs", {})  # the registry is global: leave it as it was
    register_jobs()
    (job,) = jobs.registered(["medications.adherence_signals"])
    assert job.every_seconds == 3600
    patients_with_regimens(personas, 1)
    result = jobs.run_job(job)
    assert result.ok and result.result.raised == 1
