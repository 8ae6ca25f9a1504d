"""Every input on the feedback pages has a label and every button a name."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tandem.feedback.tests.factories import give, visit
from tests.test_accessibility import unlabelled

pytestmark = pytest.mark.django_db


def test_every_feedback_form_control_is_labelled(personas):
    p = personas
    session = visit(p.patient, p.therapist)
    give(visit(p.patient, p.therapist, days_ago=3), p.patient_user)
    patient = p.client_for("patient")
    therapist = p.client_for("therapist")
    pages = [
        (patient, reverse("portal_feedback:visits")),
        (patient, reverse("portal_feedback:visit", kwargs={"session_id": session.pk})),
        (patient, reverse("portal_feedback:checkin")),
        (therapist, reverse("feedback:list", kwargs={"patient_id": p.patient.pk})),
        (therapist, reverse("feedback:checkins", kwargs={"patient_id": p.patient.pk})),
    ]
    problems = {}
    for client, url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        missing = unlabelled(response.content.decode())
        if missing:
            problems[url] = missing
    assert problems == {}
