"""Alerts that must be acknowledged in time: the window, clinic hours, the chain, the claim."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from tandem.accounts.models import Notification, Role
from tandem.audit.models import AuditEvent
from tandem.collab.actions import do_acknowledge_alert, do_raise_alert, do_set_escalation_policy
from tandem.collab.escalation import PolicyError, escalate_due, escalate_one
from tandem.collab.models import Alert, AlertEscalation
from tandem.lib.testing import make_user
from tandem.patients.models import CareTeamMember

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")  # the personas' organisation's zone


def _wednesday() -> date:
    """A Wednesday about two weeks ago (the personas' care team started 30 days ago)."""
    day = datetime.now(tz=NEW_YORK).date() - timedelta(days=14)
    return day - timedelta(days=(day.weekday() - 2) % 7)


# 11:00 in New York on that Wednesday: inside 09:00–17:00.
RAISED = datetime.combine(_wednesday(), time(11, 0), tzinfo=NEW_YORK).astimezone(UTC)
WEEKDAYS = {str(d): [["09:00", "17:00"]] for d in range(5)}


def raise_urgent(personas, key="safety:1"):
    alert, _ = do_raise_alert(
        personas.patient,
        kind="safety",
        severity="urgent",
        title="Safety screen positive",
        reason="PHQ-9 item 9 answered 1",
        rule_id="phq9-item9",
        dedup_key=key,
        route_to=["care_manager", "prescriber", "therapist"],
        escalate=True,
    )
    return alert


def run_at(moment: datetime):
    with time_machine.travel(moment, tick=False):
        return escalate_due(timezone.now())


def test_nothing_happens_before_the_window_ends(personas):
    with time_machine.travel(RAISED, tick=False):
        alert = raise_urgent(personas)
    assert alert.ack_due_at == RAISED + timedelta(minutes=60)
    run = run_at(RAISED + timedelta(minutes=59, seconds=59))
    alert.refresh_from_db()
    assert run.escalated == 0 and alert.escalation_level == 0 and alert.escalated_at is None
    assert not AlertEscalation.objects.exists()


def test_at_the_boundary_it_escalates_to_the_care_manager(personas, django_capture_on_commit_callbacks):
    with time_machine.travel(RAISED, tick=False):
        alert = raise_urgent(personas)
    mail.outbox.clear()
    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        run = run_at(RAISED + timedelta(minutes=60))
    alert.refresh_from_db()
    assert run.escalated == 1
    assert alert.escalation_level == 1 and alert.escalated_at == RAISED + timedelta(minutes=60)
    assert alert.ack_due_at == RAISED + timedelta(minutes=120)
    step = AlertEscalation.objects.get(alert=alert)
    assert (step.level, step.step) == (1, "care_manager")
    assert list(step.notified.all()) == [personas.care_manager]
    told = Notification.objects.get()
    assert told.user == personas.care_manager and "Not acknowledged in time" in told.text
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["care@riverside.test"]
    assert "Pat" not in mail.outbox[0].body and "Patient" not in mail.outbox[0].subject
    event = AuditEvent.objects.filter(entity_type="Alert", action="update").latest("seq")
    assert event.extra["change"] == "escalated" and event.extra["level"] == 1


def test_after_another_window_it_goes_to_the_prescriber_then_the_on_call_contact(personas):
    on_call = make_user("oncall@riverside.test", "Owen Call", personas.home, Role.PRESCRIBER)
    do_set_escalation_policy(
        personas.home, on_call_user=on_call, on_call_phone="555-0100", acting_user=personas.org_admin
    )
    with time_machine.travel(RAISED, tick=False):
        alert = raise_urgent(personas)
    run_at(RAISED + timedelta(minutes=61))
    run_at(RAISED + timedelta(minutes=61 + 59))  # the second window runs from the escalation
    alert.refresh_from_db()
    assert alert.escalation_level == 1
    run_at(RAISED + timedelta(minutes=121))
    alert.refresh_from_db()
    assert alert.escalation_level == 2
    assert AlertEscalation.objects.get(alert=alert, level=2).step == "prescriber"
    run_at(RAISED + timedelta(minutes=181))
    alert.refresh_from_db()
    third = AlertEscalation.objects.get(alert=alert, level=3)
    assert third.step == "on_call" and list(third.notified.all()) == [on_call] and third.contact == "555-0100"
    # The on-call contact is not on the team: told nothing that identifies the patient.
    assert "Pat" not in Notification.objects.get(user=on_call).text
    assert alert.ack_due_at is None  # the end of the chain: nothing more is due
    assert run_at(RAISED + timedelta(hours=10)).escalated == 0


def test_acknowledging_stops_it(personas):
    with time_machine.travel(RAISED, tick=False):
        alert = raise_urgent(personas)
    run_at(RAISED + timedelta(minutes=60))
    do_acknowledge_alert(alert, acting_user=personas.care_manager)
    assert run_at(RAISED + timedelta(minutes=200)).escalated == 0
    alert.refresh_from_db()
    assert alert.escalation_level == 1 and AlertEscalation.objects.filter(alert=alert).count() == 1


def test_an_alert_acknowledged_in_time_never_escalates(personas):
    with time_machine.travel(RAISED, tick=False):
        alert = raise_urgent(personas)
    with time_machine.travel(RAISED + timedelta(minutes=30), tick=False):
        do_acknowledge_alert(alert, acting_user=personas.therapist)
    assert run_at(RAISED + timedelta(hours=5)).escalated == 0
    assert not AlertEscalation.objects.exists()


def test_two_workers_never_escalate_one_alert_twice(personas):
    with time_machine.travel(RAISED, tick=False):
        alert = raise_urgent(personas)
    later = RAISED + timedelta(minutes=60)
    seen = (alert.pk, alert.escalation_level, alert.ack_due_at)
    # Both workers read the same row before either claims it.
    assert escalate_one(*seen, later) is True
    assert escalate_one(*seen, later) is False
    alert.refresh_from_db()
    assert alert.escalation_level == 1
    assert AlertEscalation.objects.filter(alert=alert).count() == 1


def test_alerts_without_a_window_never_escalate(personas):
    alert, _ = do_raise_alert(
        personas.patient,
        kind="lab",
        severity="high",
        title="t",
        reason="r",
        rule_id="x",
        dedup_key="k",
        route_to=["prescriber"],
    )
    assert alert.ack_due_at is None
    assert run_at(timezone.now() + timedelta(days=3)).escalated == 0


def test_a_step_with_nobody_in_it_is_passed_over(personas):
    CareTeamMember.objects.filter(patient=personas.patient, role="care_manager").delete()
    with time_machine.travel(RAISED, tick=False):
        alert = raise_urgent(personas)
    run_at(RAISED + timedelta(minutes=60))
    step = AlertEscalation.objects.get(alert=alert)
    assert (step.level, step.step) == (2, "prescriber") and "No care manager" in step.note


def test_the_window_is_configurable_per_organisation(personas):
    do_set_escalation_policy(personas.home, ack_window_minutes=15, acting_user=personas.org_admin)
    with time_machine.travel(RAISED, tick=False):
        alert = raise_urgent(personas)
    assert alert.ack_due_at == RAISED + timedelta(minutes=15)


def test_outside_clinic_hours_it_goes_straight_to_the_on_call_contact(
    personas, django_capture_on_commit_callbacks
):
    do_set_escalation_policy(
        personas.home,
        clinic_hours=WEEKDAYS,
        on_call_email="oncall@example.test",
        acting_user=personas.org_admin,
    )
    saturday = datetime.combine(_wednesday() + timedelta(days=3), time(11, 0), tzinfo=NEW_YORK)
    with time_machine.travel(saturday, tick=False):
        alert = raise_urgent(personas)
    assert alert.ack_due_at == saturday  # due at once
    with django_capture_on_commit_callbacks(execute=True):
        run_at(saturday + timedelta(minutes=1))
    step = AlertEscalation.objects.get(alert=alert)
    assert (step.level, step.step) == (3, "on_call") and step.contact == "oncall@example.test"
    assert any(m.to == ["oncall@example.test"] for m in mail.outbox)
    # An e-mail contact is set, so no user is told in the app.
    assert not step.notified.exists()


def test_outside_clinic_hours_the_window_can_start_at_the_next_opening(personas):
    do_set_escalation_policy(
        personas.home, clinic_hours=WEEKDAYS, outside_hours="next_opening", acting_user=personas.org_admin
    )
    friday_evening = datetime.combine(_wednesday() + timedelta(days=2), time(18, 30), tzinfo=NEW_YORK)
    with time_machine.travel(friday_evening, tick=False):
        alert = raise_urgent(personas)
    monday_opening = datetime.combine(_wednesday() + timedelta(days=5), time(9, 0), tzinfo=NEW_YORK)
    assert alert.ack_due_at == monday_opening + timedelta(minutes=60)
    assert run_at(monday_opening + timedelta(minutes=59)).escalated == 0
    assert run_at(monday_opening + timedelta(minutes=60)).escalated == 1


def test_without_an_on_call_contact_the_administrators_are_told(personas):
    do_set_escalation_policy(personas.home, chain=["on_call"], acting_user=personas.org_admin)
    with time_machine.travel(RAISED, tick=False):
        alert = raise_urgent(personas)
    run_at(RAISED + timedelta(minutes=60))
    step = AlertEscalation.objects.get(alert=alert)
    assert list(step.notified.all()) == [personas.org_admin] and "administrators" in step.note


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"ack_window_minutes": 0}, "ack_window_minutes"),
        ({"clinic_hours": {"7": [["09:00", "17:00"]]}}, "clinic_hours"),
        ({"clinic_hours": {"0": [["17:00", "09:00"]]}}, "clinic_hours"),
        ({"clinic_hours": {"0": [["nine", "five"]]}}, "clinic_hours"),
        ({"outside_hours": "never"}, "outside_hours"),
        ({"chain": ["care_manager", "care_manager"]}, "chain"),
        ({"chain": ["janitor"]}, "chain"),
    ],
)
def test_a_bad_policy_names_the_setting(personas, kwargs, field):
    with pytest.raises(PolicyError) as caught:
        do_set_escalation_policy(personas.home, acting_user=personas.org_admin, **kwargs)
    assert caught.value.field == field


def test_the_patient_alerts_page_shows_the_escalations(personas):
    with time_machine.travel(RAISED, tick=False):
        alert = raise_urgent(personas)
    run_at(RAISED + timedelta(minutes=60))
    html = (
        personas.client_for("care_manager").get(f"/patients/{personas.patient.pk}/alerts/").content.decode()
    )
    assert "Escalated: level 1" in html and "Level 1 — Care manager: Cara Manager" in html
    assert Alert.objects.get(pk=alert.pk).route_to.count("care_manager") == 1


def test_the_next_opening_is_kept_in_local_time_across_a_clock_change():
    from tandem.collab.escalation import Policy, ack_due, is_open, next_opening, parse_hours

    policy = Policy(tz=NEW_YORK, hours=parse_hours(WEEKDAYS), outside_hours="next_opening")
    # Friday 6 March 2026 18:00 EST; the clocks go forward on Sunday 8 March.
    friday = datetime(2026, 3, 6, 23, 0, tzinfo=UTC)
    assert not is_open(policy, friday)
    assert next_opening(policy, friday) == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)  # 09:00 EDT
    assert ack_due(policy, friday) == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    assert is_open(policy, datetime(2026, 3, 9, 13, 0, tzinfo=UTC))
    assert not is_open(policy, datetime(2026, 3, 9, 12, 59, tzinfo=UTC))
