from __future__ import annotations

import pytest
from django.urls import reverse

from tandem.therapy.actions import do_set_session_status
from tandem.therapy.tests.helpers import past_session, schedule

pytestmark = pytest.mark.django_db


def test_attended_missed_and_cancelled_sessions_are_on_the_timeline(personas):
    do_set_session_status(past_session(personas, 3), "attended", acting_user=personas.therapist)
    do_set_session_status(past_session(personas, 10), "no_show", acting_user=personas.therapist)
    future = schedule(personas, days=5).first
    do_set_session_status(future, "cancelled", reason="Clinician ill", acting_user=personas.therapist)
    schedule(personas, days=6)  # only scheduled: not an event
    url = reverse("patients:timeline", kwargs={"patient_id": personas.patient.pk})
    html = personas.client_for("therapist").get(url).content.decode()
    assert "Therapy session attended" in html
    assert "Therapy session missed (no-show)" in html
    assert "cancelled" in html and "Clinician ill" in html
    consented = personas.client_for("consented").get(url).content.decode()
    assert "Therapy session attended" not in consented  # therapy summaries are not shared with them
