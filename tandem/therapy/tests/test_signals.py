from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tandem.accounts.models import Notification
from tandem.collab.actions import do_resolve_alert
from tandem.collab.models import Alert
from tandem.therapy.actions import do_set_session_status
from tandem.therapy.signals import (
    KEY_ATTENDANCE,
    KEY_NO_SHOWS,
    RULE_ATTENDANCE,
    RULE_NO_SHOWS,
    evaluate_patient,
)
from tandem.therapy.tests.helpers import past_session

pytestmark = pytest.mark.django_db


def mark(personas, session, status, reason=""):
    return do_set_session_status(session, status, reason=reason, acting_user=personas.therapist)


def alerts(key):
    return list(Alert.objects.filter(dedup_key=key))


def test_one_no_show_raises_nothing(personas):
    past_session(personas, 14, "attended")
    mark(personas, past_session(personas, 7), "no_show")
    assert alerts(KEY_NO_SHOWS) == []


def test_the_second_no_show_in_a_row_alerts_the_therapist_and_the_care_manager(personas):
    past_session(personas, 21, "attended")
    past_session(personas, 14, "no_show")
    mark(personas, past_session(personas, 7), "no_show")
    [alert] = alerts(KEY_NO_SHOWS)
    assert (alert.rule_id, alert.severity, alert.kind) == (RULE_NO_SHOWS, "high", "attendance")
    assert set(alert.route_to) == {"therapist", "care_manager"}
    assert "2 recorded sessions were missed" in alert.reason and alert.source
    told = set(Notification.objects.filter(text__contains="missed sessions").values_list("user", flat=True))
    assert told == {personas.therapist.pk, personas.care_manager.pk}


def test_a_no_show_at_a_medication_visit_also_alerts_the_prescriber(personas):
    past_session(personas, 14, "no_show", kind="medication")
    mark(personas, past_session(personas, 7), "no_show")
    [alert] = alerts(KEY_NO_SHOWS)
    assert set(alert.route_to) == {"therapist", "care_manager", "prescriber"}


def test_a_timely_cancellation_between_two_no_shows_does_not_break_the_run(personas):
    past_session(personas, 21, "no_show")
    past_session(personas, 14, "cancelled")
    mark(personas, past_session(personas, 7), "no_show")
    assert len(alerts(KEY_NO_SHOWS)) == 1


@pytest.mark.parametrize("between", ["attended", "late_cancelled"])
def test_an_attended_or_late_cancelled_session_between_breaks_the_run(personas, between):
    past_session(personas, 21, "no_show")
    past_session(personas, 14, between)
    mark(personas, past_session(personas, 7), "no_show")
    assert alerts(KEY_NO_SHOWS) == []


def test_evaluating_again_raises_nothing_twice(personas):
    past_session(personas, 14, "no_show")
    mark(personas, past_session(personas, 7), "no_show")
    run = evaluate_patient(personas.patient)
    assert run.raised == 0 and run.open_already >= 1
    assert len(alerts(KEY_NO_SHOWS)) == 1


def test_after_resolution_only_a_fresh_run_alerts_again(personas):
    past_session(personas, 28, "no_show")
    mark(personas, past_session(personas, 21), "no_show")
    [alert] = alerts(KEY_NO_SHOWS)
    do_resolve_alert(alert, note="Called; back next week", acting_user=personas.care_manager)
    mark(personas, past_session(personas, 14), "no_show")  # one new no-show since: not yet a run
    assert Alert.objects.filter(dedup_key=KEY_NO_SHOWS).count() == 1
    mark(personas, past_session(personas, 7), "no_show")
    assert Alert.objects.filter(dedup_key=KEY_NO_SHOWS).count() == 2


def _attendance(personas, attended: int, late: int) -> None:
    day = 60
    for _ in range(attended):
        past_session(personas, day, "attended")
        day -= 2
    for _ in range(late):
        past_session(personas, day, "late_cancelled")
        day -= 2


@pytest.mark.parametrize(
    ("attended", "late", "alert"),
    [
        (0, 2, False),  # 3 count after the last one: too few
        (1, 2, True),  # 1 of 4 → 25 %
        (2, 1, False),  # 3 of 4 → exactly 75 %
        (4, 2, True),  # 5 of 7 → 71 %
    ],
)
def test_low_attendance_alerts_after_4_countable_sessions(personas, attended, late, alert):
    _attendance(personas, attended, late)
    last = past_session(personas, 1)
    mark(personas, last, "attended" if attended > late else "no_show")
    found = alerts(KEY_ATTENDANCE)
    assert bool(found) is alert
    if alert:
        assert found[0].rule_id == RULE_ATTENDANCE and found[0].severity == "routine"
        assert "%" in found[0].reason and "cancellations in good time do not count" in found[0].reason


def test_timely_cancellations_never_lower_attendance(personas):
    for day in (40, 30, 20, 10):
        past_session(personas, day, "cancelled")
    past_session(personas, 5, "attended")
    past_session(personas, 4, "attended")
    past_session(personas, 3, "attended")
    mark(personas, past_session(personas, 1), "attended")
    assert alerts(KEY_ATTENDANCE) == []


def test_a_resolved_attendance_alert_stays_quiet_until_another_session_is_missed(personas):
    _attendance(personas, 1, 2)
    mark(personas, past_session(personas, 3), "no_show")
    [alert] = alerts(KEY_ATTENDANCE)
    do_resolve_alert(alert, note="Discussed barriers", acting_user=personas.care_manager)
    mark(personas, past_session(personas, 2), "attended")
    assert Alert.objects.filter(dedup_key=KEY_ATTENDANCE).count() == 1
    later = past_session(personas, 1)
    do_set_session_status(
        later, "late_cancelled", reason="Car broke down", acting_user=personas.therapist, now=timezone.now()
    )
    assert Alert.objects.filter(dedup_key=KEY_ATTENDANCE).count() == 2


def test_a_future_session_cancelled_late_by_the_patient_counts(personas):
    from tandem.therapy.actions import do_patient_cancel_session
    from tandem.therapy.tests.helpers import schedule

    for day in (9, 7, 5):
        past_session(personas, day, "no_show" if day == 9 else "attended")
    session = schedule(personas, days=1).first
    do_patient_cancel_session(
        session, reason="Busy", acting_user=personas.patient_user, now=session.starts_at - timedelta(hours=2)
    )
    session.refresh_from_db()
    assert session.status == "late_cancelled"
    [alert] = alerts(KEY_ATTENDANCE)  # 2 of 4
    assert "2 attended of 4" in alert.reason
