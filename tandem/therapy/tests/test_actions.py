from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tandem.audit.models import AuditEvent
from tandem.lib.testing import make_patient
from tandem.therapy.actions import (
    OverlapWarning,
    TherapyError,
    do_cancel_series,
    do_move_session,
    do_patient_cancel_session,
    do_schedule_sessions,
    do_set_session_status,
)
from tandem.therapy.models import Session, SessionSeries
from tandem.therapy.tests.helpers import local_day, schedule

pytestmark = pytest.mark.django_db


# Scheduling --------------------------------------------------------------------------------


def test_a_single_session_is_stored_at_the_local_time_of_the_patient(personas):
    done = schedule(personas, days=3, hour=14, place="Room 3")
    session = done.first
    assert done.created and done.series is None and len(done.sessions) == 1
    local = session.starts_at.astimezone(ZoneInfo("America/Chicago"))
    assert (local.date(), local.time()) == (local_day(personas.patient, 3), time(14, 0))
    assert (session.status, session.place, session.created_by) == ("scheduled", "Room 3", personas.therapist)
    event = AuditEvent.objects.get(entity_type="Encounter", action="create")
    assert event.actor == personas.therapist and event.extra["sessions"] == [session.pk]


def test_a_series_makes_every_session_with_its_series(personas):
    done = schedule(personas, days=2, repeat=True, interval_weeks=2, count=4)
    assert done.series is not None
    days = [s.starts_at.astimezone(personas.patient.tz).date() for s in done.sessions]
    first = local_day(personas.patient, 2)
    assert days == [first + timedelta(weeks=2 * i) for i in range(4)]
    assert set(Session.objects.values_list("series", flat=True)) == {done.series.pk}


def test_a_series_across_the_new_york_clock_change_keeps_its_local_time(personas):
    patient = make_patient(personas.home, "NY-1", "Nia", "York", time_zone="America/New_York")
    from tandem.patients.models import CareTeamMember

    CareTeamMember.objects.create(
        patient=patient,
        user=personas.therapist,
        role="therapist",
        organisation=personas.home,
        start=timezone.localdate() - timedelta(days=1),
    )
    now = timezone.now()
    # The next first-Sunday-of-November change at least a week ahead.
    year = timezone.localdate().year + 1
    from datetime import date

    done = do_schedule_sessions(
        patient,
        clinician=personas.therapist,
        kind="therapy",
        day=date(year, 10, 27),
        wall=time(18, 0),
        repeat=True,
        until=date(year, 11, 10),
        acting_user=personas.therapist,
        now=now,
    )
    local = [s.starts_at.astimezone(patient.tz) for s in done.sessions]
    assert [t.time() for t in local] == [time(18, 0)] * 3
    assert len({t.utcoffset() for t in local}) == 2


def test_the_same_key_schedules_nothing_twice(personas):
    first = schedule(personas, repeat=True, count=3, idempotency_key="form-key-0001")
    again = schedule(personas, repeat=True, count=3, idempotency_key="form-key-0001")
    assert not again.created and again.first.pk == first.first.pk and len(again.sessions) == 3
    assert Session.objects.count() == 3 and SessionSeries.objects.count() == 1


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"duration_minutes": 4}, "duration_minutes"),
        ({"duration_minutes": 481}, "duration_minutes"),
        ({"setting": "telehealth"}, "telehealth_url"),
        ({"setting": "telehealth", "telehealth_url": "http://video.example/room"}, "telehealth_url"),
        ({"setting": "telehealth", "telehealth_url": "javascript:alert(1)"}, "telehealth_url"),
        ({"setting": "moon"}, "setting"),
        ({"repeat": True}, "count"),
        ({"repeat": True, "count": 105}, "count"),
        ({"repeat": True, "interval_weeks": 13, "count": 2}, "interval_weeks"),
        ({"days": -1, "repeat": True, "count": 2}, "date"),
        ({"days": -91}, "date"),
        ({"days": 800}, "date"),
        ({"idempotency_key": "short"}, "idempotency_key"),
        ({"kind": "surgery"}, "kind"),
    ],
)
def test_bad_input_names_the_field(personas, extra, field):
    days = extra.pop("days", 7)
    with pytest.raises(TherapyError) as caught:
        schedule(personas, days=days, **extra)
    assert caught.value.field == field
    assert not Session.objects.exists()


def test_an_https_video_link_is_kept_and_the_place_dropped(personas):
    done = schedule(personas, setting="telehealth", telehealth_url="https://video.example/r/1", place="x")
    assert (done.first.telehealth_url, done.first.place) == ("https://video.example/r/1", "")


def test_the_clinician_must_be_on_the_team_in_the_fitting_role(personas):
    with pytest.raises(TherapyError) as caught:
        schedule(personas, clinician=personas.colleague)  # a therapist, not on Pat's team
    assert caught.value.field == "clinician"
    with pytest.raises(TherapyError):
        schedule(personas, clinician=personas.prescriber, kind="therapy")
    with pytest.raises(TherapyError):
        schedule(personas, clinician=personas.therapist, kind="medication")
    assert schedule(personas, kind="medication").first.clinician == personas.prescriber


def test_a_time_that_does_not_exist_locally_is_refused(personas):
    from datetime import date

    year = timezone.localdate().year + 1
    spring = date(year, 3, 8 + (6 - date(year, 3, 8).weekday()) % 7)  # second Sunday of March
    with pytest.raises(TherapyError) as caught:
        do_schedule_sessions(
            personas.patient,
            clinician=personas.therapist,
            kind="therapy",
            day=spring,
            wall=time(2, 30),
            acting_user=personas.therapist,
        )
    assert caught.value.field == "time"


def test_an_overlap_with_the_clinicians_other_patient_is_warned_then_saved_when_confirmed(personas):
    from tandem.patients.models import CareTeamMember

    CareTeamMember.objects.create(
        patient=personas.other_patient,
        user=personas.therapist,
        role="therapist",
        organisation=personas.home,
        start=timezone.localdate() - timedelta(days=1),
    )
    schedule(personas, patient=personas.other_patient, days=5, hour=10)
    with pytest.raises(OverlapWarning) as caught:
        schedule(personas, days=5, hour=10, duration_minutes=30)
    [clash] = caught.value.clashes
    assert clash.starts_at.astimezone(personas.patient.tz).time() == time(10, 0)
    assert Session.objects.filter(patient=personas.patient).count() == 0
    done = schedule(personas, days=5, hour=10, duration_minutes=30, confirmed_clashes=caught.value.signature)
    assert done.created
    assert (
        AuditEvent.objects.get(entity_type="Encounter", patient=personas.patient).extra["overlaps_confirmed"]
        == 1
    )


def test_back_to_back_sessions_do_not_clash_and_cancelled_ones_never_do(personas):
    schedule(personas, days=5, hour=10, duration_minutes=60)
    schedule(personas, days=5, hour=11)  # starts as the first ends
    late = schedule(personas, days=5, hour=13).first
    do_set_session_status(late, "cancelled", reason="Clinic closed", acting_user=personas.therapist)
    assert schedule(personas, days=5, hour=13).created


# Status ------------------------------------------------------------------------------------


def test_attendance_cannot_be_recorded_before_the_session(personas):
    session = schedule(personas, days=1).first
    with pytest.raises(TherapyError) as caught:
        do_set_session_status(session, "attended", acting_user=personas.therapist)
    assert caught.value.field == "status"
    session.refresh_from_db()
    assert session.status == "scheduled"


def test_marking_attended_is_audited_with_author_and_time(personas):
    session = schedule(personas, days=1).first
    later = session.starts_at + timedelta(minutes=55)
    session, changed = do_set_session_status(session, "attended", acting_user=personas.therapist, now=later)
    session.refresh_from_db()
    assert changed and session.status == "attended"
    assert (session.status_changed_by, session.status_changed_at) == (personas.therapist, later)
    event = AuditEvent.objects.filter(entity_type="Encounter", action="update").get()
    assert event.extra["before"] == "scheduled" and event.extra["after"] == "attended"
    assert event.actor == personas.therapist


def test_the_same_status_twice_changes_nothing(personas):
    session = schedule(personas, days=1).first
    later = session.starts_at + timedelta(hours=1)
    do_set_session_status(session, "no_show", acting_user=personas.therapist, now=later)
    _, changed = do_set_session_status(session, "no_show", acting_user=personas.therapist, now=later)
    assert not changed
    assert AuditEvent.objects.filter(entity_type="Encounter", action="update").count() == 1


def test_a_cancellation_needs_a_reason_and_is_final(personas):
    session = schedule(personas, days=1).first
    with pytest.raises(TherapyError) as caught:
        do_set_session_status(session, "cancelled", acting_user=personas.therapist)
    assert caught.value.field == "reason"
    do_set_session_status(session, "cancelled", reason="Clinician ill", acting_user=personas.therapist)
    with pytest.raises(TherapyError):
        do_set_session_status(
            session,
            "attended",
            reason="x",
            acting_user=personas.therapist,
            now=session.starts_at + timedelta(hours=1),
        )


def test_a_recorded_outcome_is_corrected_only_with_a_reason(personas):
    session = schedule(personas, days=1).first
    later = session.starts_at + timedelta(hours=1)
    do_set_session_status(session, "no_show", acting_user=personas.therapist, now=later)
    with pytest.raises(TherapyError) as caught:
        do_set_session_status(session, "attended", acting_user=personas.therapist, now=later)
    assert caught.value.field == "reason"
    session, _ = do_set_session_status(
        session, "attended", reason="Came 20 minutes late", acting_user=personas.therapist, now=later
    )
    assert session.status == "attended"


@pytest.mark.parametrize("status", ["scheduled", "bogus", ""])
def test_an_unknown_or_scheduled_status_is_refused(personas, status):
    session = schedule(personas, days=1).first
    with pytest.raises(TherapyError) as caught:
        do_set_session_status(session, status, acting_user=personas.therapist)
    assert caught.value.field == "status"


# Moving and series -------------------------------------------------------------------------


def test_moving_a_session_changes_its_time_and_is_audited(personas):
    session = schedule(personas, days=3, hour=10).first
    moved = do_move_session(
        session,
        day=local_day(personas.patient, 4),
        wall=time(15, 30),
        reason="Asked",
        acting_user=personas.therapist,
    )
    local = moved.starts_at.astimezone(personas.patient.tz)
    assert (local.date(), local.time()) == (local_day(personas.patient, 4), time(15, 30))
    event = AuditEvent.objects.get(entity_type="Encounter", action="update")
    assert event.extra["change"] == "moved"


def test_a_move_into_the_past_or_of_a_held_session_is_refused(personas):
    session = schedule(personas, days=3).first
    with pytest.raises(TherapyError) as caught:
        do_move_session(
            session, day=local_day(personas.patient, -1), wall=time(9, 0), acting_user=personas.therapist
        )
    assert caught.value.field == "date"
    do_set_session_status(session, "cancelled", reason="r", acting_user=personas.therapist)
    with pytest.raises(TherapyError):
        do_move_session(
            session, day=local_day(personas.patient, 5), wall=time(9, 0), acting_user=personas.therapist
        )


def test_a_move_onto_another_session_is_warned(personas):
    schedule(personas, days=3, hour=10)
    other = schedule(personas, days=4, hour=10).first
    with pytest.raises(OverlapWarning):
        do_move_session(
            other, day=local_day(personas.patient, 3), wall=time(10, 30), acting_user=personas.therapist
        )
    # Moving within its own old slot is no clash with itself.
    do_move_session(
        other, day=local_day(personas.patient, 4), wall=time(10, 15), acting_user=personas.therapist
    )


def test_cancelling_the_rest_of_a_series_leaves_the_past_alone(personas):
    done = schedule(personas, days=1, repeat=True, count=4)
    first = done.sessions[0]
    after_first = first.starts_at + timedelta(hours=2)
    do_set_session_status(first, "attended", acting_user=personas.therapist, now=after_first)
    assert done.series is not None
    n = do_cancel_series(done.series, reason="Therapy ended", acting_user=personas.therapist, now=after_first)
    assert n == 3
    statuses = list(Session.objects.order_by("starts_at").values_list("status", flat=True))
    assert statuses == ["attended", "cancelled", "cancelled", "cancelled"]
    done.series.refresh_from_db()
    assert done.series.ended_at == after_first
    with pytest.raises(TherapyError):
        do_cancel_series(done.series, reason=" ", acting_user=personas.therapist)


# The patient cancels -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ahead", "expected"),
    [(timedelta(hours=24), "cancelled"), (timedelta(hours=23, minutes=59), "late_cancelled")],
)
def test_a_patient_cancelling_within_24_hours_is_a_late_cancellation(personas, ahead, expected):
    session = schedule(personas, days=5).first
    session, changed = do_patient_cancel_session(
        session, reason="Work", acting_user=personas.patient_user, now=session.starts_at - ahead
    )
    assert changed and session.status == expected
    assert session.status_reason == "Patient: Work"
    event = AuditEvent.objects.get(entity_type="Encounter", action="update")
    assert event.actor_role == "patient"


def test_a_patient_cannot_cancel_a_session_that_started_and_twice_is_once(personas):
    session = schedule(personas, days=5).first
    with pytest.raises(TherapyError):
        do_patient_cancel_session(
            session,
            reason="x",
            acting_user=personas.patient_user,
            now=session.starts_at + timedelta(minutes=1),
        )
    with pytest.raises(TherapyError) as caught:
        do_patient_cancel_session(session, reason="  ", acting_user=personas.patient_user)
    assert caught.value.field == "reason"
    do_patient_cancel_session(session, reason="Sick", acting_user=personas.patient_user)
    _, changed = do_patient_cancel_session(session, reason="Sick", acting_user=personas.patient_user)
    assert not changed
