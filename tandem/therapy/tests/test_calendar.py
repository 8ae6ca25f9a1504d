from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tandem.medications.calendar import FeedOptions, build_feed, do_create_calendar_feed, registry
from tandem.therapy.actions import do_move_session, do_set_session_status
from tandem.therapy.calendar import PRIVATE_TITLE, SessionSource
from tandem.therapy.tests.helpers import local_day, schedule

pytestmark = pytest.mark.django_db


def options(personas, *, names: bool) -> FeedOptions:
    today = local_day(personas.patient)
    return FeedOptions(
        now=timezone.now(),
        first_day=today - timedelta(days=7),
        last_day=today + timedelta(days=14),
        show_names=names,
        site_url="https://tandem.example",
    )


def test_sessions_are_private_appointments_unless_the_patient_chose_names(personas):
    schedule(personas, days=2, hour=14, place="Room 7, 12 Elm St")
    [private] = SessionSource().events(personas.patient, options(personas, names=False))
    assert private.summary == PRIVATE_TITLE == "Appointment"
    assert "Elm" not in private.description and "Theo" not in private.description
    assert private.alarm and private.end - private.start == timedelta(minutes=50)
    [named] = SessionSource().events(personas.patient, options(personas, names=True))
    assert named.summary == "Therapy session with Theo Therapist"
    assert named.description.startswith("Room 7, 12 Elm St\n\n")


def test_cancelled_sessions_leave_the_feed_and_a_moved_one_keeps_its_uid(personas):
    kept = schedule(personas, days=2, hour=14).first
    gone = schedule(personas, days=3, hour=14).first
    do_set_session_status(gone, "cancelled", reason="Clinic closed", acting_user=personas.therapist)
    [before] = SessionSource().events(personas.patient, options(personas, names=False))
    do_move_session(
        kept,
        day=local_day(personas.patient, 4),
        wall=kept.starts_at.astimezone(personas.patient.tz).time(),
        acting_user=personas.therapist,
    )
    [after] = SessionSource().events(personas.patient, options(personas, names=False))
    assert before.uid == after.uid and after.start - before.start == timedelta(days=2)


def test_the_source_costs_the_same_queries_for_one_or_many_sessions(personas):
    schedule(personas, days=1)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            SessionSource().events(personas.patient, options(personas, names=True))
        return len(ctx.captured_queries)

    one = queries()
    schedule(personas, days=2, hour=9, repeat=True, count=2)
    schedule(personas, days=2, hour=12, repeat=True, count=2, kind="medication")
    assert queries() == one


def test_sessions_are_in_the_patients_feed(personas):
    assert any(source.key == "sessions" for source in registry.sources())
    schedule(personas, days=1, hour=9)
    feed, _ = do_create_calendar_feed(personas.patient, acting_user=personas.patient_user)
    body, events = build_feed(feed, timezone.now())
    assert events == 1 and b"SUMMARY:Appointment" in body
