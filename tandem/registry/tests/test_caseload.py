"""The caseload registry's columns against a hand-computed course, its filters, sorts, pages,
CSV and its fixed query count."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.models import Role
from tandem.caretime.models import TimeEntry
from tandem.collab.models import AlertStatus
from tandem.lib.testing import make_patient
from tandem.measures.tests.t2t_helpers import log_doses, monthly_fills, score, start_sertraline
from tandem.patients.models import CareTeamMember
from tandem.registry.caseload import build_rows
from tandem.registry.tests.helpers import alert, at, enrol, patient_today, signal
from tandem.safety.models import SafetyFlag
from tandem.therapy.models import Session, SessionStatus

pytestmark = pytest.mark.django_db


def build_course(personas):
    """Pat, 12 weeks in: PHQ-9 20 → 15 → 12, GAD-7 10 → 12, one session attended 81 days ago
    and a no-show 3 days ago, a session booked in 5 days, a follow-up call 2 days ago, two open
    alerts and one resolved, an open safety flag, sertraline since 90 days with every dose
    taken, fills 150, 110, 70 and 30 days ago of 30 days each."""
    p = personas.patient
    enrol(p, 84)
    score(personas, "phq-9", 20, at(p, 80), "a")
    score(personas, "phq-9", 15, at(p, 40), "b")
    score(personas, "phq-9", 12, at(p, 5), "c")
    score(personas, "gad-7", 10, at(p, 80), "a")
    score(personas, "gad-7", 12, at(p, 5), "b")
    for days, status in ((81, SessionStatus.ATTENDED), (3, SessionStatus.NO_SHOW)):
        Session.objects.create(patient=p, clinician=personas.therapist, starts_at=at(p, days), status=status)
    Session.objects.create(
        patient=p, clinician=personas.therapist, starts_at=at(p, -5), status=SessionStatus.SCHEDULED
    )
    TimeEntry.objects.create(
        patient=p, user=personas.care_manager, role=Role.CARE_MANAGER, activity="follow_up",
        day=patient_today(p) - timedelta(days=2), month=patient_today(p).replace(day=1), minutes=15,
    )  # fmt: skip
    alert(p, "a1")
    alert(p, "a2", AlertStatus.ACKNOWLEDGED)
    alert(p, "a3", AlertStatus.RESOLVED)
    SafetyFlag.objects.create(patient=p)
    signal(p, "phq-9", "needs_case_review", improvement=40)
    signal(p, "gad-7", "deterioration")
    regimen = start_sertraline(personas, at(p, 90, hour=7))
    now = timezone.now()
    log_doses(p, regimen, now)
    for days in (150, 110, 70, 30):
        monthly_fills(p, regimen, at(p, days), count=1)
    return p


def test_columns_match_the_hand_computed_course(personas):
    p = build_course(personas)
    (row,) = build_rows([p], timezone.now())
    today = patient_today(p)
    assert row.enrolled == today - timedelta(days=84)
    assert row.weeks == 12
    assert (row.phq9.baseline, row.phq9.last, row.phq9.previous) == (20, 12, 15)
    assert row.phq9.change_percent == -40  # (12 − 20) / 20
    assert row.phq9.trend == "↓"
    assert (row.gad7.baseline, row.gad7.last) == (10, 12)
    assert row.gad7.change_percent == 20
    assert row.gad7.trend == "↑"
    assert row.state_label == "Needs case review"
    assert row.t2t == "Reliable deterioration"  # the worse of the two instruments
    assert row.last_contact == today - timedelta(days=2)  # the call, not the session 81 days ago
    assert row.next_due == today + timedelta(days=5)  # the booked session
    assert row.next_due_basis == "scheduled session"
    assert row.attended == 1 and row.countable == 2 and row.attendance_percent == 50
    assert row.open_alerts == 2
    assert row.safety_flag is True
    assert row.doses_scheduled in (27, 28) and row.doses_taken == row.doses_scheduled
    assert row.dose_percent == 100
    # 4 fills × 30 days = 120 covered days from the first fill (150 days ago) to today: 151 days.
    assert row.pdc_percent == round(100 * 120 / 151)
    assert row.not_improving is True  # 12 weeks, a 40 % fall
    assert row.no_recent_contact is False


def test_next_contact_defaults_to_14_days_after_the_last_contact(personas):
    p = personas.patient
    enrol(p, 50)
    Session.objects.create(patient=p, clinician=personas.therapist, starts_at=at(p, 20), status="attended")
    (row,) = build_rows([p], timezone.now())
    assert row.last_contact == patient_today(p) - timedelta(days=20)
    assert row.next_due == patient_today(p) - timedelta(days=6)
    assert row.overdue is True
    assert row.next_due_basis == "14-day default"


@pytest.mark.parametrize(("days", "expected"), [(30, False), (31, True)])
def test_no_contact_in_30_days_at_its_boundary(personas, days, expected):
    p = personas.patient
    enrol(p, 60)
    Session.objects.create(patient=p, clinician=personas.therapist, starts_at=at(p, days), status="attended")
    (row,) = build_rows([p], timezone.now())
    assert row.no_recent_contact is expected


@pytest.mark.parametrize(("enrolled", "last", "expected"), [(69, 12, False), (70, 12, True), (70, 10, False)])
def test_not_improving_at_10_weeks_boundaries(personas, enrolled, last, expected):
    """Baseline 20: a last score of 10 is a 50 % fall (a response), 12 is not."""
    p = personas.patient
    enrol(p, enrolled)
    score(personas, "phq-9", 20, at(p, 60), "a")
    score(personas, "phq-9", last, at(p, 1), "b")
    (row,) = build_rows([p], timezone.now())
    assert row.not_improving is expected


def test_the_page_shows_the_caseload_and_filters_it(personas):
    build_course(personas)
    client = personas.client_for("care_manager")
    response = client.get(reverse("registry:caseload"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Patient, Pat" in body or personas.patient.sort_name in body
    assert "20 → 12 (-40 %)" in body
    response = client.get(reverse("registry:caseload"), {"filter": "remission"})
    assert personas.patient.sort_name not in response.content.decode()
    response = client.get(reverse("registry:caseload"), {"filter": "safety_flag"})
    assert personas.patient.sort_name in response.content.decode()


def test_an_outsider_sees_nobody_of_the_team(personas):
    build_course(personas)
    response = personas.client_for("outsider").get(reverse("registry:caseload"))
    assert response.status_code == 200
    assert personas.patient.sort_name not in response.content.decode()


@pytest.mark.parametrize(
    ("params", "name"),
    [({"filter": "bogus"}, "filter"), ({"sort": "mrn"}, "sort"), ({"clinician": "x1"}, "clinician")],
)
def test_bad_values_are_refused_naming_the_parameter(personas, params, name):
    client = personas.client_for("care_manager")
    response = client.get(reverse("registry:caseload"), params)
    assert response.status_code == 400
    assert f"<strong>{name}:</strong>" in response.content.decode()
    response = client.get(reverse("registry:caseload_csv"), params)
    assert response.status_code == 400
    assert response.content.decode().startswith(f"{name}:")


def test_the_clinician_filter_keeps_that_clinicians_patients(personas):
    other = make_patient(personas.home, "R-2", "Ann", "Other")
    CareTeamMember.objects.create(
        patient=other, user=personas.care_manager, role=Role.CARE_MANAGER, organisation=personas.home
    )
    client = personas.client_for("care_manager")
    body = client.get(reverse("registry:caseload"), {"clinician": personas.therapist.pk}).content.decode()
    assert personas.patient.sort_name in body and "Other, Ann" not in body


def test_sorting_puts_blanks_last_both_ways(personas):
    other = make_patient(personas.home, "R-2", "Ann", "Other")
    CareTeamMember.objects.create(
        patient=other, user=personas.care_manager, role=Role.CARE_MANAGER, organisation=personas.home
    )
    score(personas, "phq-9", 9, at(personas.patient, 1), "x")
    client = personas.client_for("care_manager")
    for sort in ("phq9", "-phq9"):
        body = client.get(reverse("registry:caseload"), {"sort": sort}).content.decode()
        assert body.index(personas.patient.sort_name) < body.index("Other, Ann")


def test_the_csv_neutralises_formulas(personas):
    p = personas.patient
    p.family_name = "=HYPERLINK(1)"
    p.mrn = "@SUM"
    p.save(update_fields=["family_name", "mrn"])
    response = personas.client_for("care_manager").get(reverse("registry:caseload_csv"))
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][0] == "patient"
    assert rows[1][0].startswith("'=HYPERLINK(1)")
    assert rows[1][1] == "'@SUM"


def _count(client, path):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


def test_the_query_count_does_not_grow_with_the_caseload(personas):
    build_course(personas)
    client = personas.client_for("care_manager")
    path = reverse("registry:caseload")
    one = _count(client, path)
    for n in range(6):
        extra = make_patient(personas.home, f"Q-{n}", "Q", f"Patient{n}")
        CareTeamMember.objects.create(
            patient=extra, user=personas.care_manager, role=Role.CARE_MANAGER, organisation=personas.home
        )
        score_for = type("P", (), {"patient": extra, "patient_user": None})
        score(score_for, "phq-9", 12, at(extra, 3), f"q{n}")
        alert(extra, f"q{n}")
        Session.objects.create(
            patient=extra, clinician=personas.therapist, starts_at=at(extra, 2), status="attended"
        )
    many = _count(client, path)
    assert one == many
    assert many <= 25
