"""The organisation dashboard's figures on a small hand-built population, and who sees them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.models import Role
from tandem.caretime.models import TimeEntry
from tandem.lib.testing import make_patient
from tandem.patients.models import CareTeamMember
from tandem.registry.dashboard import figures
from tandem.registry.tests.helpers import signal
from tandem.therapy.models import Session

pytestmark = pytest.mark.django_db


def _patient(personas, n, enrolled_days_ago):
    p = make_patient(personas.home, f"D-{n}", "D", f"Dash{n}")
    CareTeamMember.objects.create(
        patient=p, user=personas.care_manager, role=Role.CARE_MANAGER, organisation=personas.home,
        start=timezone.localdate() - timedelta(days=enrolled_days_ago),
    )  # fmt: skip
    return p


def test_figures_match_a_hand_built_population(personas):
    """Pat (enrolled 30 days ago by the personas) and five more; PHQ-9 states:
    remission (80 % better), response (60 %), needs case review (20 %), baseline only, none."""
    today = timezone.localdate()
    a = _patient(personas, 1, 60)  # remission; followed up on day 28 by a session
    b = _patient(personas, 2, 60)  # response; followed up on day 29 (too late)
    c = _patient(personas, 3, 40)  # needs review; care-time follow-up on day 10
    d = _patient(personas, 4, 10)  # baseline only; enrolled too recently to count for follow-up
    _patient(personas, 5, 100)  # no PHQ-9; no follow-up
    signal(a, "phq-9", "remission", improvement=80)
    signal(b, "phq-9", "response", improvement=60)
    signal(c, "phq-9", "needs_case_review", improvement=20)
    signal(d, "phq-9", "baseline_only")
    signal(personas.other_patient, "phq-9", "remission", improvement=90)  # another team, same org
    # Sessions count by their UTC day (see tandem.registry.dashboard): noon UTC of the day.
    enrolled = today - timedelta(days=60)
    Session.objects.create(
        patient=a, clinician=personas.therapist, status="attended",
        starts_at=datetime.combine(enrolled + timedelta(days=28), time(12), UTC),
    )  # fmt: skip
    Session.objects.create(
        patient=b, clinician=personas.therapist, status="attended",
        starts_at=datetime.combine(enrolled + timedelta(days=29), time(12), UTC),
    )  # fmt: skip
    TimeEntry.objects.create(
        patient=c, user=personas.care_manager, role=Role.CARE_MANAGER, activity="follow_up",
        day=today - timedelta(days=30), month=today.replace(day=1), minutes=10,
    )  # fmt: skip
    found = figures(personas.home.pk, today)
    # Pat, Oli and the five: 7 in the programme (outside the organisation: none).
    assert found.patients == 7
    assert {s: n for s, _, n in found.by_status} == {
        "remission": 2, "response": 1, "needs_case_review": 1, "baseline_only": 1,
    }  # fmt: skip
    assert found.no_phq9 == 2
    # Judged: remission ×2, response, needs review = 4; remission 2/4, ≥ 50 %: 3/4.
    assert (found.judged, found.remission, found.improved) == (4, 2, 3)
    assert (found.remission_percent, found.improved_percent) == (50, 75)
    # Enrolled ≥ 28 days ago: Pat (30), Oli (30), a, b, c, e (100) = 6; followed up: a and c.
    assert (found.follow_up_eligible, found.followed_up) == (6, 2)
    assert found.followed_up_percent == 33


@pytest.mark.parametrize("persona", ["care_manager", "consultant"])
def test_care_managers_and_consultants_see_the_figures(personas, persona):
    response = personas.client_for(persona).get(reverse("registry:dashboard"))
    assert response.status_code == 200
    assert "In remission" in response.content.decode()


@pytest.mark.parametrize("persona", ["therapist", "prescriber", "outsider"])
def test_other_clinicians_are_told_who_it_is_for(personas, persona):
    response = personas.client_for(persona).get(reverse("registry:dashboard"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "In remission" not in body and "is for care managers" in body


def test_the_org_admin_sees_the_organisation_view(personas):
    response = personas.client_for("org_admin").get(reverse("registry:org_dashboard"))
    assert response.status_code == 200
    assert "Riverside" in response.content.decode()
    assert personas.client_for("care_manager").get(reverse("registry:org_dashboard")).status_code == 404
