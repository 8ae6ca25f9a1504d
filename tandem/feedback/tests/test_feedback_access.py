"""Who reads visit feedback: only the visit's clinician and the patient's care manager(s)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.models import Role
from tandem.audit.models import AuditEvent, Outcome
from tandem.feedback.access import may_read_feedback
from tandem.feedback.tests.factories import give, visit
from tandem.patients.actions import do_break_glass
from tandem.patients.models import CareTeamMember, Category, Consent
from tandem.therapy.models import SessionKind

pytestmark = pytest.mark.django_db

THERAPIST_WORDS = "Theo listens well"
PRESCRIBER_WORDS = "Rita rushed the dose talk"


@pytest.fixture
def rated(personas):
    p = personas
    therapy = give(
        visit(p.patient, p.therapist, days_ago=3),
        p.patient_user,
        texts={"working": THERAPIST_WORDS},
        overall=9,
    )
    medication = give(
        visit(p.patient, p.prescriber, days_ago=2, kind=SessionKind.MEDICATION),
        p.patient_user,
        texts={"not_working": PRESCRIBER_WORDS},
        overall=7,
    )
    return therapy, medication


def page(personas):
    return reverse("feedback:list", kwargs={"patient_id": personas.patient.pk})


def test_the_therapist_sees_their_own_visits_feedback_only(personas, rated):
    body = personas.client_for("therapist").get(page(personas)).content.decode()
    assert THERAPIST_WORDS in body
    assert PRESCRIBER_WORDS not in body
    assert "Rita Prescriber" not in body.split("Visit feedback")[-1]


def test_the_prescriber_sees_feedback_on_their_medication_visits_only(personas, rated):
    body = personas.client_for("prescriber").get(page(personas)).content.decode()
    assert PRESCRIBER_WORDS in body
    assert THERAPIST_WORDS not in body


def test_the_care_manager_sees_every_clinicians_feedback_with_a_chart_per_pair(personas, rated):
    response = personas.client_for("care_manager").get(page(personas))
    body = response.content.decode()
    assert response.status_code == 200
    assert THERAPIST_WORDS in body and PRESCRIBER_WORDS in body
    assert body.count('<svg viewBox="0 0 640 220"') == 2
    assert "Heard and understood" in body


@pytest.mark.parametrize(
    "persona", ["consultant", "org_admin", "consented", "colleague", "outsider", "patient"]
)
def test_anybody_else_gets_404_and_the_denial_is_audited(personas, rated, persona):
    before = AuditEvent.objects.order_by("-seq").first().seq
    response = personas.client_for(persona).get(page(personas))
    assert response.status_code == 404
    assert AuditEvent.objects.filter(seq__gt=before, outcome=Outcome.DENIED).exists()


def test_a_clinician_consented_for_therapy_summaries_still_cannot_read_it(personas, rated):
    Consent.objects.filter(pk=personas.consent.pk).update(
        categories=[Category.MEDICATIONS, Category.MEASURES, Category.THERAPY_SUMMARIES]
    )
    assert personas.client_for("consented").get(page(personas)).status_code == 404
    checkins = reverse("feedback:checkins", kwargs={"patient_id": personas.patient.pk})
    assert personas.client_for("consented").get(checkins).status_code == 200


def test_emergency_access_does_not_open_visit_feedback(personas, rated):
    do_break_glass(personas.patient, user=personas.colleague, reason="Patient in the emergency department")
    assert personas.client_for("colleague").get(page(personas)).status_code == 404


def test_a_clinician_who_left_the_team_loses_their_feedback(personas, rated):
    CareTeamMember.objects.filter(patient=personas.patient, user=personas.therapist).update(
        end=timezone.localdate() - timedelta(days=1)
    )
    assert personas.client_for("therapist").get(page(personas)).status_code == 404
    assert not may_read_feedback(personas.therapist, rated[0])


def test_a_second_care_manager_sees_it_too(personas, rated):
    from tandem.lib.testing import make_user

    second = make_user("care2@riverside.test", "Cam Second", personas.home, Role.CARE_MANAGER)
    CareTeamMember.objects.create(
        patient=personas.patient, user=second, role=Role.CARE_MANAGER, organisation=personas.home
    )
    body = personas.client_for(second).get(page(personas)).content.decode()
    assert THERAPIST_WORDS in body and PRESCRIBER_WORDS in body


def test_may_read_feedback_follows_the_same_rule(personas, rated):
    therapy, medication = rated
    assert may_read_feedback(personas.therapist, therapy)
    assert not may_read_feedback(personas.therapist, medication)
    assert may_read_feedback(personas.care_manager, medication)
    assert not may_read_feedback(personas.consultant, therapy)
    assert not may_read_feedback(personas.org_admin, therapy)


def test_the_page_costs_the_same_queries_for_many_visits(personas):
    p = personas
    give(visit(p.patient, p.therapist, days_ago=1), p.patient_user)
    client = p.client_for("care_manager")
    with CaptureQueriesContext(connection) as few:
        assert client.get(page(p)).status_code == 200
    for n in range(6):
        give(visit(p.patient, p.therapist if n % 2 else p.prescriber, days_ago=2 + n), p.patient_user)
    with CaptureQueriesContext(connection) as many:
        assert client.get(page(p)).status_code == 200
    assert len(many) == len(few)
