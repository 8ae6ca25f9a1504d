"""The patient gives feedback on their visits in the portal: which visits are asked about, one
feedback per visit, refusals by field with nothing typed lost, skipping, and own visits only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tandem.audit.models import AuditEvent, Outcome
from tandem.feedback.models import FeedbackStatus, VisitFeedback
from tandem.feedback.tests.factories import give, visit
from tandem.therapy.models import SessionKind, SessionStatus

pytestmark = pytest.mark.django_db

VISITS = reverse("portal_feedback:visits")


def form_url(session) -> str:
    return reverse("portal_feedback:visit", kwargs={"session_id": session.pk})


def answers(**over) -> dict:
    data = {
        "key": "abcdefgh12345678",
        "heard": "8",
        "goals": "7",
        "approach": "9",
        "overall": "8",
        "working": "The breathing exercise",
        "not_working": "",
        "better": "More time for homework",
    }
    data.update(over)
    return data


def test_the_list_shows_attended_visits_of_the_last_14_days_without_feedback(personas):
    p = personas
    therapy = visit(p.patient, p.therapist, days_ago=2)
    medication = visit(p.patient, p.prescriber, days_ago=13.9, kind=SessionKind.MEDICATION)
    too_old = visit(p.patient, p.therapist, days_ago=14.1)
    no_show = visit(p.patient, p.therapist, days_ago=3, status=SessionStatus.NO_SHOW)
    cancelled = visit(p.patient, p.therapist, days_ago=3, status=SessionStatus.CANCELLED)
    upcoming = visit(p.patient, p.therapist, days_ago=-2, status=SessionStatus.SCHEDULED)
    rated = visit(p.patient, p.therapist, days_ago=5)
    give(rated, p.patient_user)
    others = visit(p.other_patient, p.colleague, days_ago=1)

    response = p.client_for("patient").get(VISITS)

    assert response.status_code == 200
    body = response.content.decode()
    assert form_url(therapy) in body
    assert form_url(medication) in body  # prescribers' visits are asked about too
    for session in (too_old, no_show, cancelled, upcoming, rated, others):
        assert form_url(session) not in body
    assert "Medication visit with Rita Prescriber" in body


def test_the_form_fits_a_phone_and_names_who_will_read_it(personas):
    session = visit(personas.patient, personas.therapist)
    response = personas.client_for("patient").get(form_url(session))
    body = response.content.decode()
    assert response.status_code == 200
    assert "I felt heard and understood" in body
    assert "What would make the next visit better?" in body
    assert "Only Theo Therapist and your care manager (Cara Manager) will read this" in body
    assert body.count('type="radio"') >= 44


def test_feedback_is_stored_once_however_often_it_is_sent(personas):
    session = visit(personas.patient, personas.therapist)
    client = personas.client_for("patient")

    first = client.post(form_url(session), answers())
    again = client.post(form_url(session), answers())  # a retry with the same key
    other_key = client.post(form_url(session), answers(key="zzzzzzzz99999999", overall="2"))

    assert first.status_code == again.status_code == other_key.status_code == 302
    feedback = VisitFeedback.objects.get(session=session)
    assert VisitFeedback.objects.count() == 1
    assert (feedback.heard, feedback.goals, feedback.approach, feedback.overall) == (8, 7, 9, 8)
    assert feedback.working == "The breathing exercise" and feedback.better == "More time for homework"
    assert feedback.clinician == personas.therapist and feedback.status == FeedbackStatus.GIVEN
    assert AuditEvent.objects.filter(entity_type="VisitFeedback", action="create").count() == 1
    assert form_url(session) not in client.get(VISITS).content.decode()


@pytest.mark.parametrize("bad", ["11", "-1", "ten", ""])
def test_a_rating_out_of_range_is_refused_by_its_field_and_nothing_typed_is_lost(personas, bad):
    session = visit(personas.patient, personas.therapist)
    response = personas.client_for("patient").post(form_url(session), answers(goals=bad))

    assert response.status_code == 400
    body = response.content.decode()
    assert "<strong>Worked on what I wanted:</strong> choose a number from 0 to 10" in body
    assert 'name="heard" value="8" checked' in body
    assert 'name="approach" value="9" checked' in body
    assert "The breathing exercise" in body and "More time for homework" in body
    assert not VisitFeedback.objects.exists()


def test_too_long_free_text_is_refused_by_its_field(personas):
    session = visit(personas.patient, personas.therapist)
    response = personas.client_for("patient").post(form_url(session), answers(better="x" * 2001))
    assert response.status_code == 400
    assert "keep it to 2000 characters" in response.content.decode()
    assert not VisitFeedback.objects.exists()


def test_a_form_without_a_usable_key_stores_nothing_and_keeps_the_answers(personas):
    session = visit(personas.patient, personas.therapist)
    response = personas.client_for("patient").post(form_url(session), answers(key="short"))
    # A fresh key is given; the answers are valid, so the feedback is stored once.
    assert response.status_code == 302
    assert VisitFeedback.objects.count() == 1


def test_a_visit_past_its_window_is_closed_and_nothing_is_stored(personas):
    session = visit(personas.patient, personas.therapist, days_ago=15)
    client = personas.client_for("patient")
    assert "Feedback on this visit has closed" in client.get(form_url(session)).content.decode()
    response = client.post(form_url(session), answers())
    assert response.status_code == 400
    assert not VisitFeedback.objects.exists()


def test_not_now_keeps_the_visit_open_and_feedback_can_follow(personas):
    session = visit(personas.patient, personas.therapist)
    client = personas.client_for("patient")
    skip = reverse("portal_feedback:skip", kwargs={"session_id": session.pk})

    assert client.post(skip, {"choice": "not_now"}).status_code == 302
    body = client.get(VISITS).content.decode()
    assert "You said “not now”" in body and form_url(session) in body
    assert VisitFeedback.objects.get(session=session).status == FeedbackStatus.NOT_NOW

    assert client.post(form_url(session), answers()).status_code == 302
    feedback = VisitFeedback.objects.get(session=session)
    assert feedback.status == FeedbackStatus.GIVEN and feedback.overall == 8


def test_prefer_not_to_takes_the_visit_off_the_list(personas):
    session = visit(personas.patient, personas.prescriber, kind=SessionKind.MEDICATION)
    client = personas.client_for("patient")
    skip = reverse("portal_feedback:skip", kwargs={"session_id": session.pk})
    assert client.post(skip, {"choice": "declined"}).status_code == 302
    assert form_url(session) not in client.get(VISITS).content.decode()
    assert VisitFeedback.objects.get(session=session).status == FeedbackStatus.DECLINED


def test_skipping_after_giving_feedback_keeps_the_feedback(personas):
    session = visit(personas.patient, personas.therapist)
    give(session, personas.patient_user, overall=9)
    skip = reverse("portal_feedback:skip", kwargs={"session_id": session.pk})
    personas.client_for("patient").post(skip, {"choice": "declined"})
    feedback = VisitFeedback.objects.get(session=session)
    assert feedback.status == FeedbackStatus.GIVEN and feedback.overall == 9


def test_an_unknown_skip_choice_changes_nothing(personas):
    session = visit(personas.patient, personas.therapist)
    skip = reverse("portal_feedback:skip", kwargs={"session_id": session.pk})
    assert personas.client_for("patient").post(skip, {"choice": "later"}).status_code == 302
    assert not VisitFeedback.objects.exists()


@pytest.mark.parametrize(
    "persona", ["other_patient", "therapist", "prescriber", "care_manager", "org_admin", "outsider"]
)
def test_only_the_patient_opens_or_answers_their_visit(personas, persona):
    session = visit(personas.patient, personas.therapist)
    client = personas.client_for(persona)
    skip = reverse("portal_feedback:skip", kwargs={"session_id": session.pk})
    for method, url in [("get", form_url(session)), ("post", form_url(session)), ("post", skip)]:
        before = AuditEvent.objects.count()
        response = getattr(client, method)(url, answers() if method == "post" else None)
        assert response.status_code == 404, (method, url)
        assert AuditEvent.objects.filter(outcome=Outcome.DENIED).count() > 0
        assert AuditEvent.objects.count() > before
    assert not VisitFeedback.objects.exists()


def test_a_missing_or_malformed_visit_is_404(personas):
    client = personas.client_for("patient")
    assert client.get("/portal/feedback/999999/").status_code == 404
    assert client.get("/portal/feedback/99999999999999999999/").status_code == 404
