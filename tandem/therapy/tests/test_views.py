from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tandem.audit.models import AuditEvent
from tandem.patients.models import CareTeamMember
from tandem.therapy.models import Session, SessionStatus
from tandem.therapy.tests.helpers import local_day, past_session, schedule

pytestmark = pytest.mark.django_db


def overview_url(personas) -> str:
    return reverse("therapy:overview", kwargs={"patient_id": personas.patient.pk})


def schedule_url(personas) -> str:
    return reverse("therapy:schedule", kwargs={"patient_id": personas.patient.pk})


def form(personas, **extra) -> dict:
    data = {
        "kind": "therapy",
        "clinician": personas.therapist.pk,
        "date": local_day(personas.patient, 5).isoformat(),
        "time": "14:00",
        "duration_minutes": "50",
        "setting": "in_person",
        "place": "Room 3",
        "interval_weeks": "1",
        "key": "form-key-12345",
    }
    data.update(extra)
    return data


# The overview ------------------------------------------------------------------------------


def test_the_overview_shows_upcoming_past_and_attendance_in_the_patients_time(personas):
    schedule(personas, days=2, hour=14)
    past_session(personas, 7, "attended")
    past_session(personas, 14, "no_show")
    html = personas.client_for("consultant").get(overview_url(personas)).content.decode()
    assert "14:00" in html and "Theo Therapist" in html
    assert "50 %" in html and "(1 of 2)" in html
    assert "Attended" in html and "No-show" in html
    assert "therapy_panels" not in html  # the block is there, empty
    assert "Schedule a session" not in html  # the consultant reads


# Pinned: a change to the overview's queries must be a decision (session, user, grant and its
# audit, sessions, series, attendance, the check-in chart, the therapy links, the safety flag).
OVERVIEW_QUERIES = 20


def test_the_overview_costs_the_same_queries_for_few_or_many_sessions(personas):
    client = personas.client_for("therapist")
    schedule(personas, days=3)
    past_session(personas, 3)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(overview_url(personas))
        assert response.status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    assert few == OVERVIEW_QUERIES
    schedule(personas, days=1, hour=8, repeat=True, count=30)
    schedule(personas, days=2, hour=12, kind="medication", repeat=True, count=10)
    for day in range(4, 60):
        past_session(personas, day, "attended" if day % 3 else "cancelled")
    assert queries() == few


def test_the_past_is_paginated(personas):
    for day in range(1, 26):
        past_session(personas, day, "attended")
    client = personas.client_for("therapist")
    first = client.get(overview_url(personas)).content.decode()
    second = client.get(overview_url(personas) + "?page=2").content.decode()
    assert "Page 1 of 2" in first and "Page 2 of 2" in second


def test_the_clinician_gets_one_click_attendance_buttons_and_others_do_not(personas):
    session = past_session(personas, 1)
    html = personas.client_for("therapist").get(overview_url(personas)).content.decode()
    assert 'value="attended"' in html and 'value="no_show"' in html
    prescriber = personas.client_for("prescriber").get(overview_url(personas)).content.decode()
    assert 'value="no_show"' not in prescriber
    url = reverse("therapy:status", kwargs={"patient_id": personas.patient.pk, "session_id": session.pk})
    response = personas.client_for("therapist").post(url, {"status": "attended", "next": "overview"})
    assert response.status_code == 302 and response["Location"] == overview_url(personas)
    session.refresh_from_db()
    assert session.status == SessionStatus.ATTENDED and session.status_changed_by == personas.therapist


def test_the_care_manager_records_attendance_but_a_prescriber_cannot_for_the_therapist(personas):
    session = past_session(personas, 1)
    url = reverse("therapy:status", kwargs={"patient_id": personas.patient.pk, "session_id": session.pk})
    response = personas.client_for("prescriber").post(url, {"status": "no_show"})
    assert response.status_code == 400
    assert "recorded by the session&#x27;s clinician or the care manager" in response.content.decode()
    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED
    assert personas.client_for("care_manager").post(url, {"status": "no_show"}).status_code == 302
    session.refresh_from_db()
    assert session.status == SessionStatus.NO_SHOW


def test_the_consultant_cannot_change_a_status(personas):
    session = past_session(personas, 1)
    url = reverse("therapy:status", kwargs={"patient_id": personas.patient.pk, "session_id": session.pk})
    assert personas.client_for("consultant").post(url, {"status": "attended"}).status_code == 404
    assert AuditEvent.objects.filter(outcome="denied", actor=personas.consultant).exists()


def test_a_session_of_another_patient_is_not_found_under_this_one(personas):
    CareTeamMember.objects.create(
        patient=personas.other_patient,
        user=personas.therapist,
        role="therapist",
        organisation=personas.home,
        start=timezone.localdate() - timedelta(days=1),
    )
    theirs = schedule(personas, patient=personas.other_patient).first
    url = reverse("therapy:session", kwargs={"patient_id": personas.patient.pk, "session_id": theirs.pk})
    assert personas.client_for("therapist").get(url).status_code == 404


def test_a_cancel_without_reason_is_refused_by_the_field(personas):
    session = schedule(personas, days=2).first
    url = reverse("therapy:status", kwargs={"patient_id": personas.patient.pk, "session_id": session.pk})
    response = personas.client_for("therapist").post(url, {"status": "cancelled", "reason": ""})
    assert response.status_code == 400
    assert "say why the session was cancelled" in response.content.decode()


# Scheduling --------------------------------------------------------------------------------


def test_scheduling_a_weekly_series_from_the_form(personas):
    client = personas.client_for("care_manager")
    assert client.get(schedule_url(personas)).status_code == 200
    response = client.post(schedule_url(personas), form(personas, repeat="on", count="6"))
    assert response.status_code == 302
    assert Session.objects.filter(patient=personas.patient).count() == 6
    again = client.post(schedule_url(personas), form(personas, repeat="on", count="6"))  # a double submit
    assert again.status_code == 302 and again["Location"] == response["Location"]
    assert Session.objects.count() == 6


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"date": "not-a-date"}, "Date:"),
        ({"time": "25:00"}, "Time:"),
        ({"setting": "telehealth", "telehealth_url": "http://insecure.example/x"}, "Video link:"),
        ({"repeat": "on"}, "Number of sessions:"),
        ({"duration_minutes": "1000"}, "Length (minutes):"),
        ({"clinician": "999999"}, "Clinician:"),
    ],
)
def test_bad_input_is_shown_by_its_field_and_the_rest_is_kept(personas, extra, message):
    response = personas.client_for("therapist").post(schedule_url(personas), form(personas, **extra))
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'value="Room 3"' in html
    assert not Session.objects.exists()


def test_a_prescriber_may_not_be_the_clinician_of_a_therapy_session(personas):
    response = personas.client_for("therapist").post(
        schedule_url(personas), form(personas, clinician=personas.prescriber.pk)
    )
    assert response.status_code == 400
    assert "must be a therapist on the patient" in response.content.decode()


def test_an_overlap_is_warned_with_its_time_but_not_whose_it_is_and_saving_needs_confirmation(personas):
    CareTeamMember.objects.create(
        patient=personas.other_patient,
        user=personas.therapist,
        role="therapist",
        organisation=personas.home,
        start=timezone.localdate() - timedelta(days=1),
    )
    schedule(personas, patient=personas.other_patient, days=5, hour=14)
    client = personas.client_for("therapist")
    first = client.post(schedule_url(personas), form(personas, time="14:30"))
    html = first.content.decode()
    assert first.status_code == 200 and "This overlaps other appointments" in html
    assert "14:00–14:50" in html
    assert "Oli" not in html and "Oli Other" not in html and "RC-2" not in html
    assert not Session.objects.filter(patient=personas.patient).exists()
    confirmed = html.split('name="confirmed" value="')[1].split('"')[0]
    second = client.post(schedule_url(personas), form(personas, time="14:30", confirmed=confirmed))
    assert second.status_code == 302
    assert Session.objects.filter(patient=personas.patient).count() == 1


def test_the_consultant_and_the_consented_clinician_cannot_schedule(personas):
    for persona in ("consultant", "consented", "outsider"):
        assert personas.client_for(persona).post(schedule_url(personas), form(personas)).status_code == 404
    assert not Session.objects.exists()


# Session detail, move, series --------------------------------------------------------------


def test_the_session_page_moves_a_session_and_keeps_bad_input(personas):
    session = schedule(personas, days=3, hour=10).first
    client = personas.client_for("therapist")
    page = reverse("therapy:session", kwargs={"patient_id": personas.patient.pk, "session_id": session.pk})
    assert "Move this session" in client.get(page).content.decode()
    url = reverse("therapy:move", kwargs={"patient_id": personas.patient.pk, "session_id": session.pk})
    bad = client.post(
        url,
        {
            "date": local_day(personas.patient, -2).isoformat(),
            "time": "11:00",
            "duration_minutes": "50",
            "reason": "Asked",
        },
    )
    assert bad.status_code == 400 and "a time still to come" in bad.content.decode()
    good = client.post(
        url, {"date": local_day(personas.patient, 4).isoformat(), "time": "11:00", "duration_minutes": "50"}
    )
    assert good.status_code == 302
    session.refresh_from_db()
    assert session.starts_at.astimezone(personas.patient.tz).hour == 11


def test_cancelling_the_rest_of_a_series_from_the_page(personas):
    done = schedule(personas, days=2, repeat=True, count=3)
    assert done.series is not None
    url = reverse(
        "therapy:cancel_series", kwargs={"patient_id": personas.patient.pk, "series_id": done.series.pk}
    )
    client = personas.client_for("care_manager")
    assert client.post(url, {"reason": ""}).status_code == 400
    assert client.post(url, {"reason": "Discharged"}).status_code == 302
    assert set(Session.objects.values_list("status", flat=True)) == {"cancelled"}


def test_every_control_on_the_therapy_pages_is_labelled(personas):
    import re

    def unlabelled(html: str) -> list[str]:
        labels = set(re.findall(r'<label[^>]*for="([^"]+)"', html))
        missing = []
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
            if 'type="hidden"' in tag or "aria-label=" in tag:
                continue
            found = re.search(r'id="([^"]+)"', tag)
            if found is None or found.group(1) not in labels:
                missing.append(tag)
        missing += list(re.findall(r"<button\b[^>]*>\s*</button>", html))
        return missing

    past = past_session(personas, 1)
    upcoming = schedule(personas, days=3, repeat=True, count=2).first
    pid = personas.patient.pk
    therapist = personas.client_for("therapist")
    pages = [
        (therapist, overview_url(personas)),
        (therapist, schedule_url(personas)),
        (therapist, reverse("therapy:session", kwargs={"patient_id": pid, "session_id": past.pk})),
        (therapist, reverse("therapy:session", kwargs={"patient_id": pid, "session_id": upcoming.pk})),
        (personas.client_for("patient"), "/portal/appointments/"),
    ]
    for client, url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert unlabelled(response.content.decode()) == [], url
