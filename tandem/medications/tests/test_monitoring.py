"""Monitoring: schedules generated from regimens, results recorded and answering them, alerts for
results out of range and for overdue monitoring, the jobs, and the clinician page."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.models import Notification
from tandem.audit.models import AuditEvent, Outcome
from tandem.collab.actions import do_resolve_alert
from tandem.collab.models import Alert, AlertStatus
from tandem.core import jobs
from tandem.lib.timezones import local_date
from tandem.medications import lab_jobs
from tandem.medications.actions import MedicationError, do_change_regimen, do_start_regimen
from tandem.medications.models import LabResult, MonitoringDue, Regimen
from tandem.medications.monitoring import (
    add_months,
    do_record_lab,
    evaluate_overdue,
    extend_monitoring,
    plan_monitoring,
)

TEAM = {"prescriber", "therapist", "care_manager", "consultant"}
READERS = TEAM | {"consented"}
NOT_READERS = {"org_admin", "colleague", "outsider", "patient", "other_patient"}


def start(
    personas,
    key="lithium",
    classes=("mood_stabiliser",),
    dose=300,
    times=("08:00", "20:00"),
    days_ago=0,
    name=None,
):
    effective = timezone.now() - timedelta(days=days_ago)
    regimen = do_start_regimen(
        personas.patient,
        drug_key=key,
        drug_name=name or key,
        drug_classes=list(classes),
        dose_amount=dose,
        times=list(times),
        reason="Start",
        acting_user=personas.prescriber,
        effective_at=effective,
    )
    assert regimen.current is not None
    plan_monitoring(regimen, regimen.current)
    return regimen


def change(regimen, kind, days_ago=0, **changes):
    version = do_change_regimen(
        regimen,
        kind=kind,
        reason="Change",
        acting_user=regimen.prescriber,
        effective_at=timezone.now() - timedelta(days=days_ago),
        **changes,
    )
    regimen.refresh_from_db()
    plan_monitoring(regimen, version)
    return version


def day0(regimen) -> date:
    return local_date(regimen.started_at, regimen.patient.time_zone)


def dues(regimen, kind, *, open_only=True) -> list[date]:
    rows = MonitoringDue.objects.filter(regimen=regimen, kind=kind)
    if open_only:
        rows = rows.filter(cancelled=False, satisfied_by__isnull=True)
    return sorted(rows.values_list("due_date", flat=True))


def record(personas, kind="lithium_level", value="0.6", unit="mmol/L", at=None, **extra):
    return do_record_lab(
        personas.patient,
        kind=kind,
        value=value,
        unit=unit,
        observed_at=at or timezone.now(),
        acting_user=personas.care_manager,
        role="care_manager",
        **extra,
    )


# ---------------------------------------------------------------------------------------------
# Schedules


@pytest.mark.django_db
def test_a_lithium_start_plans_a_level_at_steady_state_five_days_later(personas):
    regimen = start(personas)
    first = day0(regimen)
    assert dues(regimen, "lithium_level")[:4] == [
        first + timedelta(days=5),
        add_months(first, 1),
        add_months(first, 2),
        add_months(first, 3),
    ]
    assert add_months(first, 9) in dues(regimen, "lithium_level")  # then every 6 months
    steady = MonitoringDue.objects.get(regimen=regimen, due_date=first + timedelta(days=5))
    assert steady.rule_id == "lithium-level-steady-state" and "lithium guideline" in steady.source.lower()


@pytest.mark.django_db
def test_a_lithium_start_plans_the_baseline_then_renal_and_thyroid_every_6_months(personas):
    regimen = start(personas)
    first = day0(regimen)
    for kind in ("renal", "thyroid", "calcium", "sodium", "cbc"):
        assert dues(regimen, kind)[0] == first, kind
    assert dues(regimen, "renal")[1:3] == [add_months(first, 6), add_months(first, 12)]
    assert dues(regimen, "calcium")[1] == add_months(first, 12)


@pytest.mark.django_db
def test_a_dose_change_plans_a_new_level_and_cancels_the_one_it_makes_moot(personas):
    regimen = start(personas, days_ago=2)
    first = day0(regimen)
    change(regimen, "increase", dose_amount=Decimal(450))
    increased = local_date(regimen.current.effective_at, regimen.patient.time_zone)
    levels = dues(regimen, "lithium_level")
    assert increased + timedelta(days=5) in levels
    assert first + timedelta(days=5) not in levels
    assert MonitoringDue.objects.get(regimen=regimen, due_date=first + timedelta(days=5)).cancelled


@pytest.mark.django_db
def test_new_times_alone_plan_nothing_but_a_new_daily_dose_plans_a_level(personas):
    regimen = start(personas, days_ago=10)
    before = MonitoringDue.objects.count()
    change(regimen, "change", times=["09:00", "21:00"])
    assert MonitoringDue.objects.count() == before
    change(regimen, "change", times=["09:00", "15:00", "21:00"])
    changed = local_date(regimen.current.effective_at, regimen.patient.time_zone)
    assert changed + timedelta(days=5) in dues(regimen, "lithium_level")


@pytest.mark.django_db
def test_an_sga_start_follows_the_ada_apa_table(personas):
    regimen = start(personas, "quetiapine", ("antipsychotic_sga",), dose=50, times=("21:00",))
    first = day0(regimen)
    weeks = [first + timedelta(weeks=w) for w in (0, 4, 8, 12)]
    assert dues(regimen, "weight")[:5] == [*weeks, add_months(weeks[-1], 3)]
    for kind in ("blood_pressure", "glucose", "lipids"):
        assert dues(regimen, kind)[:3] == [first, weeks[-1], add_months(first, 12)], kind
    assert dues(regimen, "waist")[:2] == [first, add_months(first, 12)]
    assert not dues(regimen, "lithium_level") and not dues(regimen, "anc")
    lipids = MonitoringDue.objects.get(regimen=regimen, kind="lipids", due_date=add_months(first, 12))
    assert "APA 2020" in lipids.source


@pytest.mark.django_db
def test_clozapine_plans_anc_weekly_for_6_months_then_every_2_weeks(personas):
    regimen = start(personas, "clozapine", ("antipsychotic_sga",), dose=12.5, times=("21:00",))
    first = day0(regimen)
    anc = dues(regimen, "anc")
    assert anc[:27] == [first + timedelta(weeks=w) for w in range(27)]
    assert anc[27:30] == [first + timedelta(weeks=w) for w in (28, 30, 32)]
    assert first + timedelta(weeks=52) in anc and add_months(first + timedelta(weeks=52), 1) in anc
    assert dues(regimen, "weight")  # and the metabolic schedule


@pytest.mark.django_db
def test_valproate_plans_liver_and_platelets_monthly_for_6_months(personas):
    regimen = start(personas, "divalproex", dose=500)
    first = day0(regimen)
    assert dues(regimen, "liver")[:7] == [first] + [add_months(first, m) for m in range(1, 7)]
    assert dues(regimen, "cbc")[:7] == dues(regimen, "liver")[:7]
    assert dues(regimen, "valproate_level")[0] == first + timedelta(days=5)


@pytest.mark.django_db
def test_citalopram_above_40_mg_prompts_an_ecg_and_20_mg_does_not(personas):
    low = start(personas, "citalopram", ("ssri",), dose=20, times=("08:00",))
    assert not dues(low, "ecg")
    high = start(personas, "citalopram", ("ssri",), dose=60, times=("08:00",))
    assert dues(high, "ecg") == [day0(high)]


@pytest.mark.django_db
def test_a_free_text_lithium_gets_the_lithium_schedule(personas):
    regimen = start(personas, "free:Lithium carbonate ER 300", classes=(), name="Lithium carbonate ER 300")
    assert dues(regimen, "lithium_level")[0] == day0(regimen) + timedelta(days=5)
    sertraline = start(personas, "sertraline", ("ssri",), dose=50, times=("08:00",))
    assert not MonitoringDue.objects.filter(regimen=sertraline).exists()


@pytest.mark.django_db
def test_planning_twice_creates_nothing_more(personas):
    regimen = start(personas)
    count = MonitoringDue.objects.filter(regimen=regimen).count()
    again = plan_monitoring(regimen, regimen.current)
    assert again.created == 0 and MonitoringDue.objects.filter(regimen=regimen).count() == count
    assert AuditEvent.objects.filter(entity_type="MonitoringDue").count() == 1


@pytest.mark.django_db
def test_a_stop_cancels_the_open_rows_from_the_stop_on(personas):
    regimen = start(personas, days_ago=10)
    baseline = MonitoringDue.objects.get(regimen=regimen, kind="renal", due_date=day0(regimen))
    lab = record(personas, "creatinine", "0.9", "mg/dL", at=regimen.started_at)
    baseline.refresh_from_db()
    assert baseline.satisfied_by_id == lab.lab.pk
    change(regimen, "stop")
    assert not MonitoringDue.objects.filter(
        regimen=regimen, cancelled=False, satisfied_by__isnull=True
    ).exists()
    baseline.refresh_from_db()
    assert not baseline.cancelled and baseline.satisfied_by_id == lab.lab.pk


@pytest.mark.django_db
def test_a_stop_planned_for_later_keeps_the_rows_due_before_it(personas):
    regimen = start(personas)
    first = day0(regimen)
    do_change_regimen(
        regimen,
        kind="stop",
        reason="Planned stop",
        acting_user=personas.prescriber,
        effective_at=timezone.now() + timedelta(days=40),
    )
    regimen.refresh_from_db()
    plan_monitoring(regimen, regimen.current)
    levels = dues(regimen, "lithium_level")
    assert first + timedelta(days=5) in levels and add_months(first, 1) in levels
    assert all(d < first + timedelta(days=41) for d in levels)


@pytest.mark.django_db
def test_a_hold_keeps_the_rows(personas):
    regimen = start(personas)
    before = MonitoringDue.objects.filter(regimen=regimen, cancelled=False).count()
    change(regimen, "hold")
    assert MonitoringDue.objects.filter(regimen=regimen, cancelled=False).count() == before


@pytest.mark.django_db
def test_a_result_recorded_before_the_start_answers_the_baseline(personas):
    record(personas, "tsh", "2.1", "mIU/L", at=timezone.now() - timedelta(days=3))
    regimen = start(personas)
    thyroid = MonitoringDue.objects.get(regimen=regimen, kind="thyroid", due_date=day0(regimen))
    assert thyroid.satisfied_by is not None


@pytest.mark.django_db
@override_settings(LAB_MONITORING={"horizon_days": 100})
def test_extend_plans_recurring_rows_further_ahead(personas):
    regimen = start(personas)
    assert max(dues(regimen, "lithium_level")) <= day0(regimen) + timedelta(days=100)
    later = timezone.now() + timedelta(days=200)
    extend_monitoring(later)
    assert max(dues(regimen, "lithium_level")) > day0(regimen) + timedelta(days=200)
    assert extend_monitoring(later).created == 0


@pytest.mark.django_db
@override_settings(LAB_MONITORING={"schedules": {"valproate-first-6-months": {"at": ["2w", "1m"]}}})
def test_a_schedule_can_be_changed_in_settings(personas):
    regimen = start(personas, "divalproex", dose=500)
    first = day0(regimen)
    assert dues(regimen, "liver")[:3] == [first, first + timedelta(weeks=2), add_months(first, 1)]


# ---------------------------------------------------------------------------------------------
# Recording results


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "lithium"}, "kind"),
        ({"unit": "mg/dL"}, "unit"),
        ({"value": "7"}, "value"),
        ({"value": ""}, "value"),
        ({"at": timezone.now() + timedelta(hours=2)}, "observed_at"),
        ({"at": datetime(1980, 1, 1, tzinfo=timezone.get_current_timezone())}, "observed_at"),
        ({"note": "x" * 301}, "note"),
        ({"source": "fax"}, "source"),
    ],
)
def test_bad_input_is_refused_by_field(personas, changes, field):
    with pytest.raises(MedicationError) as caught:
        record(personas, **changes)
    assert caught.value.field == field
    assert not LabResult.objects.exists()


@pytest.mark.django_db
def test_a_result_answers_the_earliest_open_row_within_its_window(personas):
    regimen = start(personas, days_ago=6)
    first = day0(regimen)
    recorded = record(personas, at=timezone.now())
    steady = MonitoringDue.objects.get(
        regimen=regimen, kind="lithium_level", due_date=first + timedelta(days=5)
    )
    assert recorded.satisfied == [steady] and steady.satisfied_by_id == recorded.lab.pk
    assert dues(regimen, "lithium_level")[0] == add_months(first, 1)  # the next one stays open
    audit = AuditEvent.objects.get(entity_type="Observation", entity_id=str(recorded.lab.pk))
    assert audit.extra["satisfied"] == [steady.pk] and audit.extra["flag"] == "normal"


@pytest.mark.django_db
def test_a_level_before_steady_state_does_not_answer_it(personas):
    regimen = start(personas, days_ago=3)
    recorded = record(personas)
    assert recorded.satisfied == []
    assert dues(regimen, "lithium_level")[0] == day0(regimen) + timedelta(days=5)


@pytest.mark.django_db
def test_the_same_result_twice_is_recorded_once(personas):
    at = timezone.now() - timedelta(hours=1)
    first = record(personas, at=at, external_id="LAB-1")
    again = record(personas, at=at, value="0.7", external_id="LAB-1")
    assert first.created and not again.created and again.lab.pk == first.lab.pk
    repeat = record(personas, at=at, value="0.9")
    twice = record(personas, at=at, value="0.90")
    assert repeat.created and not twice.created
    assert LabResult.objects.count() == 2


@pytest.mark.django_db
def test_a_high_level_alerts_the_prescriber_once_with_the_threshold_and_its_source(personas):
    recorded = record(personas, value="1.2")
    alert = recorded.alert
    assert recorded.lab.flag == "high" and alert.severity == "high" and alert.kind == "lab"
    assert alert.route_to == ["prescriber"] and alert.rule_id == "lab-lithium-level-maintenance-high"
    assert "above 0.8 mmol/L" in alert.reason and "lithium guideline" in alert.reason.lower()
    assert "secondary source" in alert.source
    told = set(Notification.objects.values_list("user__email", flat=True))
    assert told == {personas.prescriber.email, personas.care_manager.email}
    again = record(personas, value="1.1", at=timezone.now() - timedelta(minutes=5))
    assert recorded.alert_created and not again.alert_created
    assert again.alert.pk == alert.pk and Alert.objects.count() == 1


@pytest.mark.django_db
def test_a_critical_result_is_a_new_urgent_alert(personas):
    record(personas, value="1.2")
    critical = record(personas, "anc", "450", "/µL")
    assert critical.alert.severity == "urgent" and "severe neutropenia" in critical.alert.reason
    assert Alert.objects.count() == 2


@pytest.mark.django_db
def test_a_result_in_range_raises_no_alert(personas):
    recorded = record(personas, "valproate_level", "80", "µg/mL")
    assert recorded.flag.level == "normal" and recorded.alert is None and not Alert.objects.exists()


@pytest.mark.django_db
def test_an_old_result_entered_late_is_flagged_without_an_alert(personas):
    recorded = record(personas, value="1.3", at=timezone.now() - timedelta(days=45))
    assert recorded.lab.flag == "high" and recorded.alert is None


@pytest.mark.django_db
def test_weight_gain_on_an_antipsychotic_is_compared_with_the_baseline(personas):
    record(personas, "weight", "80", "kg", at=timezone.now() - timedelta(days=30))
    start(personas, "olanzapine", ("antipsychotic_sga",), dose=5, times=("21:00",), days_ago=29)
    small = record(personas, "weight", "83.5", "kg", at=timezone.now() - timedelta(days=1))
    assert small.flag.level == "normal"
    gain = record(personas, "weight", "84", "kg")
    assert gain.flag.level == "high" and "ADA/APA 2004" in gain.alert.reason


# ---------------------------------------------------------------------------------------------
# Overdue


def overdue_alerts():
    return Alert.objects.filter(dedup_key__startswith="lab_overdue:")


@pytest.mark.django_db
def test_an_overdue_level_raises_one_alert_after_the_grace_period(personas):
    regimen = start(personas)
    steady = MonitoringDue.objects.get(regimen=regimen, rule_id="lithium-level-steady-state")
    base = timezone.now()
    evaluate_overdue(base + timedelta(days=5 + 7))
    assert not overdue_alerts().filter(dedup_key=f"lab_overdue:{steady.pk}").exists()
    evaluate_overdue(base + timedelta(days=5 + 8, hours=12))
    alert = overdue_alerts().get(dedup_key=f"lab_overdue:{steady.pk}")
    assert alert.severity == "high" and alert.route_to == ["prescriber"] and alert.kind == "lab_overdue"
    assert "was due on" in alert.reason and "lithium-level-steady-state" in alert.reason
    assert evaluate_overdue(base + timedelta(days=14)).raised == 0
    do_resolve_alert(alert, note="Patient away", acting_user=personas.prescriber)
    evaluate_overdue(base + timedelta(days=15))
    assert overdue_alerts().filter(dedup_key=f"lab_overdue:{steady.pk}").count() == 1


@pytest.mark.django_db
def test_recording_the_result_resolves_the_overdue_alert(personas):
    regimen = start(personas, days_ago=20)
    evaluate_overdue(timezone.now())
    steady = MonitoringDue.objects.get(regimen=regimen, rule_id="lithium-level-steady-state")
    alert = overdue_alerts().get(dedup_key=f"lab_overdue:{steady.pk}")
    record(personas)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED and "Lithium level recorded" in alert.resolution_note


@pytest.mark.django_db
def test_overdue_metabolic_monitoring_is_routine(personas):
    regimen = start(personas, "quetiapine", ("antipsychotic_sga",), dose=50, times=("21:00",), days_ago=20)
    evaluate_overdue(timezone.now())
    row = MonitoringDue.objects.get(regimen=regimen, kind="weight", due_date=day0(regimen))
    assert overdue_alerts().get(dedup_key=f"lab_overdue:{row.pk}").severity == "routine"


@pytest.mark.django_db
def test_a_stopped_regimen_raises_no_overdue_alert(personas):
    regimen = start(personas, days_ago=20)
    change(regimen, "stop")
    assert evaluate_overdue(timezone.now() + timedelta(days=30)).raised == 0
    assert not overdue_alerts().exists()


@pytest.mark.django_db
def test_stopping_resolves_the_open_overdue_alerts(personas):
    regimen = start(personas, days_ago=20)
    evaluate_overdue(timezone.now())
    assert overdue_alerts().exclude(status=AlertStatus.RESOLVED).exists()
    change(regimen, "stop")
    assert not overdue_alerts().exclude(status=AlertStatus.RESOLVED).exists()
    assert "lithium was stopped" in overdue_alerts().first().resolution_note


def test_the_jobs_are_registered(monkeypatch):
    monkeypatch.setattr(jobs, "_jobs", {})  # leave the process-wide registry as it was
    lab_jobs.register_jobs()
    assert [job.name for job in jobs.registered()] == ["medications.labs_overdue", "medications.labs_extend"]


# ---------------------------------------------------------------------------------------------
# The page


def page(personas) -> str:
    return reverse("medications:labs", kwargs={"patient_id": personas.patient.pk})


def post_url(personas) -> str:
    return reverse("medications:lab_record", kwargs={"patient_id": personas.patient.pk})


def form(**changes) -> dict[str, str]:
    local = timezone.localtime(timezone.now() - timedelta(hours=1), ZoneInfo("America/Chicago"))  # Pat's zone
    data = {
        "kind": "lithium_level",
        "value": "0.6",
        "unit": "mmol/L",
        "observed_at": local.strftime("%Y-%m-%dT%H:%M"),
    }
    data.update(changes)
    return data


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(READERS))
def test_readers_see_results_with_flags_sources_and_monitoring(personas, persona):
    start(personas)
    record(personas, value="1.2")
    html = personas.client_for(persona).get(page(personas)).content.decode()
    assert "Lithium level" in html and "1.2 mmol/L" in html and "High" in html
    assert "Hospital lithium guideline" in html and "Due in the next 90 days" in html
    assert "Thresholds in use" in html and "Bowden 1996" in html
    assert ("Record result" in html) == (persona in TEAM)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(NOT_READERS))
def test_others_get_404_and_the_denial_is_audited(personas, persona):
    client = personas.client_for(persona)
    assert client.get(page(personas)).status_code == 404
    assert client.post(post_url(personas), form()).status_code == 404
    assert AuditEvent.objects.filter(outcome=Outcome.DENIED, entity_type="Observation").count() == 2
    assert not LabResult.objects.exists()


@pytest.mark.django_db
def test_a_consented_clinician_reads_but_cannot_record(personas):
    response = personas.client_for("consented").post(post_url(personas), form())
    assert response.status_code == 404 and not LabResult.objects.exists()
    assert AuditEvent.objects.filter(outcome=Outcome.DENIED, actor=personas.consented).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(TEAM))
def test_the_care_team_records_a_result(personas, persona):
    response = personas.client_for(persona).post(post_url(personas), form(value="0.7"))
    assert response.status_code == 302 and response["Location"] == page(personas)
    lab = LabResult.objects.get()
    assert lab.value == Decimal("0.7") and lab.entered_by == personas.all()[persona]


@pytest.mark.django_db
def test_the_time_is_read_in_the_patients_zone(personas):
    personas.client_for("prescriber").post(post_url(personas), form(observed_at="2024-03-10T09:30"))
    lab = LabResult.objects.get()
    assert (
        timezone.localtime(lab.observed_at, personas.patient.tz).strftime("%Y-%m-%d %H:%M")
        == "2024-03-10 09:30"
    )


@pytest.mark.django_db
def test_a_bad_value_names_the_field_and_keeps_the_form(personas):
    response = personas.client_for("prescriber").post(post_url(personas), form(value="9", note="trough"))
    html = response.content.decode()
    assert response.status_code == 400
    assert "<strong>Value:</strong>" in html and "from 0 to 5 mmol/L" in html
    assert 'value="trough"' in html and 'value="9"' in html
    response = personas.client_for("prescriber").post(post_url(personas), form(observed_at="yesterday"))
    assert "<strong>Sample taken:</strong>" in response.content.decode()
    assert not LabResult.objects.exists()


@pytest.mark.django_db
def test_the_page_makes_the_same_number_of_queries_however_much_there_is(personas):
    client = personas.client_for("prescriber")
    start(personas)
    record(personas)
    with CaptureQueriesContext(connection) as one:
        assert client.get(page(personas)).status_code == 200
    start(personas, "clozapine", ("antipsychotic_sga",), dose=12.5, times=("21:00",))
    for n in range(1, 15):
        record(personas, "anc", str(2000 + n), "/µL", at=timezone.now() - timedelta(days=n))
        record(personas, "weight", str(70 + n), "kg", at=timezone.now() - timedelta(days=n))
    with CaptureQueriesContext(connection) as many:
        assert client.get(page(personas)).status_code == 200
    assert len(many) == len(one)
    assert Regimen.objects.count() == 2
