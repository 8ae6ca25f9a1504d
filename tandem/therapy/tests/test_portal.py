from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tandem.audit.models import AuditEvent
from tandem.patients.models import CareTeamMember
from tandem.therapy.models import Session, SessionStatus
from tandem.therapy.portal_views import attendance_words
from tandem.therapy.rules import Attendance
from tandem.therapy.tests.helpers import past_session, schedule

pytestmark = pytest.mark.django_db

PAGE = "/portal/appointments/"


def cancel_url(session) -> str:
    return reverse("portal_therapy:cancel", kwargs={"session_id": session.pk})


def test_my_appointments_show_time_kind_clinician_and_the_video_link(personas):
    schedule(personas, days=3, hour=15, setting="telehealth", telehealth_url="https://video.example/r/9")
    schedule(personas, days=4, hour=9, kind="medication", place="Room 2")
    past_session(personas, 7, "attended")
    assert reverse("portal_therapy:sessions") == PAGE
    html = personas.client_for("patient").get(PAGE).content.decode()
    assert "at 15:00" in html and "America/Chicago" in html
    assert "Therapy session with Theo Therapist" in html and "Medication visit with Rita Prescriber" in html
    assert 'href="https://video.example/r/9"' in html and "Room 2" in html
    assert "You have come to 1 appointment." in html
    assert AuditEvent.objects.filter(
        entity_type="Encounter", action="read", actor=personas.patient_user
    ).exists()


def test_another_patients_appointments_are_not_shown(personas):
    CareTeamMember.objects.create(
        patient=personas.other_patient,
        user=personas.therapist,
        role="therapist",
        organisation=personas.home,
        start=timezone.localdate() - timedelta(days=1),
    )
    schedule(personas, patient=personas.other_patient, days=3, hour=16)
    html = personas.client_for("patient").get(PAGE).content.decode()
    assert "at 16:00" not in html and "No appointments coming up" in html


def test_the_page_says_beforehand_that_cancelling_within_24_hours_is_late(personas):
    soon = schedule(personas, days=5, hour=10).first
    client = personas.client_for("patient")
    html = client.get(PAGE).content.decode()
    assert "does not count as missed" in html and "recorded as a late cancellation" not in html
    Session.objects.filter(pk=soon.pk).update(starts_at=timezone.now() + timedelta(hours=23))
    html = client.get(PAGE).content.decode()
    assert "recorded as a late cancellation" in html and "does not count as missed" not in html


def test_i_cant_come_cancels_with_my_reason(personas):
    session = schedule(personas, days=5).first
    client = personas.client_for("patient")
    response = client.post(cancel_url(session), {"reason": "Exam that day"})
    assert response.status_code == 302 and response["Location"] == PAGE
    session.refresh_from_db()
    assert session.status == SessionStatus.CANCELLED and session.status_reason == "Patient: Exam that day"
    assert session.status_changed_by == personas.patient_user
    again = client.post(cancel_url(session), {"reason": "Exam that day"})  # a double tap
    assert again.status_code == 302
    assert AuditEvent.objects.filter(entity_type="Encounter", action="update").count() == 1


def test_a_late_cancellation_is_recorded_as_late(personas):
    session = schedule(personas, days=5).first
    Session.objects.filter(pk=session.pk).update(starts_at=timezone.now() + timedelta(hours=3))
    personas.client_for("patient").post(cancel_url(session), {"reason": "Sick"})
    session.refresh_from_db()
    assert session.status == SessionStatus.LATE_CANCELLED


def test_a_missing_reason_is_shown_and_nothing_changes(personas):
    session = schedule(personas, days=5).first
    response = personas.client_for("patient").post(cancel_url(session), {"reason": "  "})
    assert response.status_code == 400
    assert "Why can&#x27;t you come: tell your clinician" in response.content.decode()
    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED


def test_nobody_else_can_cancel_my_appointment(personas):
    session = schedule(personas, days=5).first
    for persona in ("other_patient", "therapist", "outsider"):
        response = personas.client_for(persona).post(cancel_url(session), {"reason": "x"})
        assert response.status_code == 404
    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED
    assert AuditEvent.objects.filter(outcome="denied", entity_type="Encounter").count() == 3


@pytest.mark.parametrize(
    ("summary", "words"),
    [
        (Attendance(), "Your past appointments will show here."),
        (Attendance(attended=1), "You have come to 1 appointment. Thank you"),
        (Attendance(attended=5, no_show=1, cancelled=3), "You have come to 5 appointments. 1 was missed"),
        (Attendance(attended=2, no_show=1, late_cancelled=1), "2 were missed or cancelled at short notice"),
    ],
)
def test_attendance_in_friendly_words(summary, words):
    assert words in attendance_words(summary)
