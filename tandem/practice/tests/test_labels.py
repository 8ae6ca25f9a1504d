"""Every input of the practice forms has a label (the same check as tests/test_accessibility.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tandem.practice.tests.factories import assign, submit
from tests.test_accessibility import unlabelled

pytestmark = pytest.mark.django_db


def test_every_practice_form_control_is_labelled(personas):
    patient = personas.client_for("patient")
    therapist = personas.client_for("therapist")
    pid = personas.patient.pk
    pages = [(therapist, reverse("practice:assign", kwargs={"patient_id": pid}))]
    for template in ("thought_record", "diary_card", "activity_schedule", "ipt", "worksheet"):
        assignment = assign(personas, template=template)
        pages.append((patient, reverse("portal_practice:fill", kwargs={"assignment_id": assignment.pk})))
        if template == "thought_record":
            entry = submit(personas, assignment)
            pages.append(
                (therapist, reverse("practice:entry", kwargs={"patient_id": pid, "entry_id": entry.pk}))
            )
            pages.append(
                (
                    therapist,
                    reverse(
                        "practice:assignment", kwargs={"patient_id": pid, "assignment_id": assignment.pk}
                    ),
                )
            )
    problems = {}
    for client, url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        missing = unlabelled(response.content.decode())
        if missing:
            problems[url] = missing
    assert problems == {}
