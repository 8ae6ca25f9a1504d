"""The daily check-in: one per local day of the patient, updates on a second submit, never
duplicated by a retry; bounds by field; the team's trend with the visits marked."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tandem.audit.models import AuditEvent, Outcome
from tandem.feedback.actions import FeedbackError, do_record_checkin
from tandem.feedback.charts import checkin_chart
from tandem.feedback.models import CheckIn
from tandem.feedback.tests.factories import visit
from tandem.lib.timezones import local_date
from tandem.therapy.models import SessionKind, SessionStatus

pytestmark = pytest.mark.django_db

CHECKIN = reverse("portal_feedback:checkin")


def record(personas, key="key-00000001", now=None, **values):
    fields: dict[str, object] = {"mood": "", "anxiety": "", "sleep_hours": "", "note": ""}
    fields.update(values)
    return do_record_checkin(
        personas.patient,
        mood=fields["mood"],
        anxiety=fields["anxiety"],
        sleep_hours=fields["sleep_hours"],
        note=fields["note"],
        idempotency_key=key,
        acting_user=personas.patient_user,
        now=now,
    )


def test_the_day_is_the_patients_local_day(personas):
    # Pat lives in Chicago (UTC-6 in January): 05:30 UTC is 23:30 the evening before.
    late_evening = datetime(2026, 1, 15, 5, 30, tzinfo=UTC)
    after_midnight = datetime(2026, 1, 15, 6, 30, tzinfo=UTC)
    first, _ = record(personas, "key-00000001", now=late_evening, mood=4)
    second, _ = record(personas, "key-00000002", now=after_midnight, mood=6)
    assert (first.day, second.day) == (date(2026, 1, 14), date(2026, 1, 15))
    assert CheckIn.objects.count() == 2


def test_a_second_submit_that_day_updates_it(personas):
    now = datetime(2026, 1, 15, 15, 0, tzinfo=UTC)
    record(personas, "key-00000001", now=now, mood=4, sleep_hours="6")
    checkin, changed = record(personas, "key-00000002", now=now + timedelta(hours=5), mood=7, note="Better")
    assert changed
    assert CheckIn.objects.count() == 1
    checkin.refresh_from_db()
    assert (checkin.mood, checkin.sleep_hours, checkin.note) == (7, None, "Better")
    assert AuditEvent.objects.filter(entity_type="CheckIn", action="update").count() == 1


def test_a_retried_submit_never_duplicates_nor_overwrites_a_newer_answer(personas):
    now = datetime(2026, 1, 15, 15, 0, tzinfo=UTC)
    record(personas, "key-00000001", now=now, mood=4)
    record(personas, "key-00000002", now=now + timedelta(hours=1), mood=8)
    _, changed = record(personas, "key-00000002", now=now + timedelta(hours=2), mood=8)
    assert not changed
    assert CheckIn.objects.count() == 1 and CheckIn.objects.get().mood == 8


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("mood", "0", True),
        ("mood", "10", True),
        ("mood", "11", False),
        ("mood", "-1", False),
        ("anxiety", "10", True),
        ("anxiety", "11", False),
        ("sleep_hours", "0", True),
        ("sleep_hours", "24", True),
        ("sleep_hours", "24.5", False),
        ("sleep_hours", "7.5", True),
        ("sleep_hours", "7,5", True),
        ("sleep_hours", "7.25", False),
        ("sleep_hours", "-0.5", False),
        ("sleep_hours", "lots", False),
        ("sleep_hours", "NaN", False),
        ("note", "x" * 200, True),
        ("note", "x" * 201, False),
    ],
)
def test_each_answer_is_checked_at_its_bounds(personas, field, value, ok):
    if ok:
        checkin, _ = record(personas, **{field: value})
        assert checkin.pk
    else:
        with pytest.raises(FeedbackError) as caught:
            record(personas, **{field: value})
        assert caught.value.field == field
        assert not CheckIn.objects.exists()


def test_sleep_is_stored_to_the_half_hour(personas):
    checkin, _ = record(personas, sleep_hours="7,5")
    checkin.refresh_from_db()
    assert checkin.sleep_hours == Decimal("7.5")


def test_an_empty_check_in_is_refused(personas):
    with pytest.raises(FeedbackError):
        record(personas, note="   ")


def test_the_note_is_kept_to_one_line(personas):
    checkin, _ = record(personas, note="Long day\nat work")
    assert checkin.note == "Long day at work"


def test_the_portal_form_saves_and_shows_todays_answers(personas):
    client = personas.client_for("patient")
    response = client.post(
        CHECKIN, {"key": "abcdefgh1234", "mood": "6", "anxiety": "", "sleep_hours": "7.5", "note": "Walked"}
    )
    assert response.status_code == 302
    checkin = CheckIn.objects.get()
    assert checkin.day == local_date(timezone.now(), personas.patient.tz)
    body = client.get(CHECKIN).content.decode()
    assert 'name="mood" value="6" checked' in body
    assert 'value="7.5"' in body and 'value="Walked"' in body
    assert "you checked in today" in body


def test_a_bad_answer_is_named_and_the_rest_is_kept(personas):
    client = personas.client_for("patient")
    response = client.post(
        CHECKIN, {"key": "abcdefgh1234", "mood": "7", "anxiety": "3", "sleep_hours": "25", "note": "Kept"}
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "<strong>Hours slept last night:</strong> enter hours from 0 to 24" in body
    assert 'name="mood" value="7" checked' in body and 'name="anxiety" value="3" checked' in body
    assert 'value="25"' in body and 'value="Kept"' in body
    assert not CheckIn.objects.exists()


def test_a_double_submit_in_the_portal_stores_one(personas):
    client = personas.client_for("patient")
    data = {"key": "abcdefgh1234", "mood": "5", "anxiety": "", "sleep_hours": "", "note": ""}
    client.post(CHECKIN, data)
    client.post(CHECKIN, data)
    assert CheckIn.objects.count() == 1
    assert AuditEvent.objects.filter(entity_type="CheckIn").exclude(action="read").count() == 1


@pytest.mark.parametrize("persona", ["therapist", "care_manager", "org_admin", "outsider"])
def test_only_patients_check_in(personas, persona):
    response = personas.client_for(persona).post(CHECKIN, {"key": "abcdefgh1234", "mood": "5"})
    assert response.status_code == 404
    assert AuditEvent.objects.filter(outcome=Outcome.DENIED).exists()
    assert not CheckIn.objects.exists()


def make_weeks(personas):
    p = personas
    today = local_date(timezone.now(), p.patient.tz)
    for back in (1, 3, 10):
        CheckIn.objects.create(patient=p.patient, day=today - timedelta(days=back), mood=back % 10, anxiety=4)
    CheckIn.objects.create(patient=p.patient, day=today - timedelta(days=70), mood=1)  # before the 8 weeks
    visit(p.patient, p.therapist, days_ago=2)
    visit(p.patient, p.prescriber, days_ago=5, kind=SessionKind.MEDICATION, status=SessionStatus.NO_SHOW)
    visit(p.patient, p.therapist, days_ago=6, status=SessionStatus.CANCELLED)
    return today


def test_the_chart_has_mood_anxiety_sleep_and_the_visits_marked(personas):
    today = make_weeks(personas)
    chart = checkin_chart(personas.patient, today - timedelta(weeks=8) + timedelta(days=1), today)
    labels = [label for _, label in chart.legend]
    assert labels[:3] == ["Mood (0–10, higher is better)", "Anxiety (0–10, higher is worse)", "Sleep (hours)"]
    assert "Visit attended" in labels and "Visit missed" in labels
    visits = [row[4] for row in chart.table_rows if row[4] != "—"]
    assert visits == ["Medication visit no-show", "Therapy session attended"]
    assert len([row for row in chart.table_rows if row[1] != "—"]) == 3  # the 70-day-old one is outside
    assert chart.table_head == ["Day", "Mood", "Anxiety", "Sleep (hours)", "Visit"]


def test_the_team_sees_the_trend_and_the_consented_clinician_does_not(personas):
    make_weeks(personas)
    url = reverse("feedback:checkins", kwargs={"patient_id": personas.patient.pk})
    for persona in ("therapist", "prescriber", "care_manager", "consultant"):
        response = personas.client_for(persona).get(url)
        assert response.status_code == 200
        body = response.content.decode()
        assert "Check-ins: mood, anxiety and sleep" in body and "<table" in body
    for persona in ("consented", "org_admin", "colleague", "patient"):
        assert personas.client_for(persona).get(url).status_code == 404


def test_the_patient_sees_their_own_trend(personas):
    make_weeks(personas)
    body = personas.client_for("patient").get(CHECKIN).content.decode()
    assert "Your last 8 weeks" in body and "Check-ins: mood, anxiety and sleep" in body
    other = personas.client_for("other_patient").get(CHECKIN).content.decode()
    assert "Your check-ins will show here" in other
