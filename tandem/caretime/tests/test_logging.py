"""Logging, correcting and removing minutes through the pages, with bad input named by field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from tandem.audit.models import AuditEvent
from tandem.caretime.actions import patient_today
from tandem.caretime.models import TimeEntry
from tandem.caretime.report import month_start, previous_month

pytestmark = pytest.mark.django_db


def log_url(personas):
    return reverse("caretime:log", kwargs={"patient_id": personas.patient.pk})


def form(personas, **changes):
    data = {
        "activity": "follow_up",
        "day": patient_today(personas.patient).isoformat(),
        "minutes": "25",
        "note": "phone follow-up",
        "idempotency_key": "",
    }
    data.update(changes)
    return data


def test_the_care_manager_logs_time_and_it_is_audited(personas):
    response = personas.client_for("care_manager").post(log_url(personas), form(personas))
    assert response.status_code == 302
    entry = TimeEntry.objects.get()
    assert (entry.user, entry.role, entry.minutes, entry.activity) == (
        personas.care_manager,
        "care_manager",
        25,
        "follow_up",
    )
    assert entry.month == month_start(entry.day)
    event = AuditEvent.objects.filter(entity_type="CareTime", action="create").get()
    assert event.actor == personas.care_manager and event.patient_id == personas.patient.pk
    assert event.extra["minutes"] == 25


def test_a_double_submit_logs_once(personas):
    client = personas.client_for("care_manager")
    for _ in range(2):
        assert client.post(log_url(personas), form(personas, idempotency_key="k-1")).status_code == 302
    assert TimeEntry.objects.count() == 1


def test_the_therapist_logs_time_in_their_own_role(personas):
    personas.client_for("therapist").post(log_url(personas), form(personas, minutes="20"))
    assert TimeEntry.objects.get().role == "therapist"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("minutes", "-5", "negative"),
        ("minutes", "0", "at least 1 minute"),
        ("minutes", "241", "at most 240"),
        ("minutes", "ten", "whole number"),
        ("minutes", "", "whole number"),
        ("activity", "golf", "choose the activity"),
        ("day", "14/03/2025", "date like"),
        ("note", "x" * 301, "under 300"),
    ],
)
def test_bad_input_names_the_field_and_keeps_the_rest(personas, field, value, message):
    data = form(personas, **{"note": "kept note", field: value})
    response = personas.client_for("care_manager").post(log_url(personas), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert 'class="field has-error"' in body
    assert f'id="ct-{field}"' in body
    if field != "note":
        assert 'value="kept note"' in body
    if field != "minutes":
        assert 'value="25"' in body
    assert not TimeEntry.objects.exists()


def test_240_minutes_and_one_minute_are_accepted(personas):
    client = personas.client_for("care_manager")
    assert client.post(log_url(personas), form(personas, minutes="240")).status_code == 302
    assert client.post(log_url(personas), form(personas, minutes="1")).status_code == 302
    assert sorted(TimeEntry.objects.values_list("minutes", flat=True)) == [1, 240]


def test_a_future_date_is_refused_and_today_is_not(personas):
    today = patient_today(personas.patient)
    client = personas.client_for("care_manager")
    response = client.post(log_url(personas), form(personas, day=(today + timedelta(days=1)).isoformat()))
    assert response.status_code == 400
    assert "in the future" in response.content.decode()
    assert client.post(log_url(personas), form(personas, day=today.isoformat())).status_code == 302


def test_a_date_before_care_started_is_refused_and_the_first_day_is_not(personas):
    started = personas.patient.care_team.order_by("start").first().start
    client = personas.client_for("care_manager")
    response = client.post(log_url(personas), form(personas, day=(started - timedelta(days=1)).isoformat()))
    assert response.status_code == 400
    assert "before the patient&#x27;s care started" in response.content.decode()
    assert client.post(log_url(personas), form(personas, day=started.isoformat())).status_code == 302


def _entry(personas, user=None, **fields):
    day = fields.pop("day", patient_today(personas.patient))
    user = user or personas.care_manager
    return TimeEntry.objects.create(
        patient=personas.patient,
        user=user,
        role=fields.pop("role", "care_manager"),
        activity=fields.pop("activity", "assessment"),
        day=day,
        month=month_start(day),
        minutes=fields.pop("minutes", 30),
        **fields,
    )


def edit_url(personas, entry):
    return reverse("caretime:edit", kwargs={"patient_id": personas.patient.pk, "entry_id": entry.pk})


def delete_url(personas, entry):
    return reverse("caretime:delete", kwargs={"patient_id": personas.patient.pk, "entry_id": entry.pk})


def test_the_author_corrects_an_entry_within_its_month_with_an_audit_of_before_and_after(personas):
    entry = _entry(personas)
    client = personas.client_for("care_manager")
    assert client.get(edit_url(personas, entry)).status_code == 200
    data = form(personas, minutes="45", activity="care_planning", day=entry.day.isoformat())
    assert client.post(edit_url(personas, entry), data).status_code == 302
    entry.refresh_from_db()
    assert (entry.minutes, entry.activity) == (45, "care_planning")
    event = AuditEvent.objects.filter(entity_type="CareTime", action="update").get()
    assert event.extra["before"]["minutes"] == 30 and event.extra["after"]["minutes"] == 45


def test_a_correction_with_bad_minutes_is_refused_and_keeps_the_entry(personas):
    entry = _entry(personas)
    response = personas.client_for("care_manager").post(
        edit_url(personas, entry), form(personas, minutes="0", day=entry.day.isoformat())
    )
    assert response.status_code == 400
    entry.refresh_from_db()
    assert entry.minutes == 30


def test_nobody_else_corrects_or_removes_an_entry(personas):
    entry = _entry(personas)
    for persona in ("therapist", "prescriber", "consultant", "org_admin", "outsider"):
        client = personas.client_for(persona)
        assert client.get(edit_url(personas, entry)).status_code == 404
        assert client.post(delete_url(personas, entry)).status_code == 404
    assert TimeEntry.objects.filter(pk=entry.pk).exists()


def test_an_entry_of_a_closed_month_cannot_be_corrected_or_removed(personas):
    day = previous_month(month_start(patient_today(personas.patient)))
    entry = _entry(personas, day=day)
    client = personas.client_for("care_manager")
    assert "is closed" in client.get(edit_url(personas, entry)).content.decode()
    response = client.post(edit_url(personas, entry), form(personas, minutes="50", day=day.isoformat()))
    assert response.status_code == 400
    assert client.post(delete_url(personas, entry)).status_code == 302
    entry.refresh_from_db()
    assert entry.minutes == 30


def test_an_entry_cannot_be_moved_to_another_month(personas):
    today = patient_today(personas.patient)
    entry = _entry(personas)
    earlier = month_start(today) - timedelta(days=1)
    response = personas.client_for("care_manager").post(
        edit_url(personas, entry), form(personas, day=earlier.isoformat())
    )
    assert response.status_code == 400
    entry.refresh_from_db()
    assert entry.day == today


def test_the_author_removes_an_entry_with_an_audit(personas):
    entry = _entry(personas, minutes=17)
    assert personas.client_for("care_manager").post(delete_url(personas, entry)).status_code == 302
    assert not TimeEntry.objects.exists()
    event = AuditEvent.objects.filter(entity_type="CareTime", action="delete").get()
    assert event.extra["removed"]["minutes"] == 17


def test_an_entry_of_another_patient_is_not_found_under_this_one(personas):
    from tandem.patients.models import CareTeamMember

    CareTeamMember.objects.create(
        patient=personas.other_patient,
        user=personas.care_manager,
        role="care_manager",
        organisation=personas.home,
        start=personas.patient.care_team.first().start,
    )
    day = patient_today(personas.other_patient)
    other = TimeEntry.objects.create(
        patient=personas.other_patient,
        user=personas.care_manager,
        role="care_manager",
        activity="assessment",
        day=day,
        month=month_start(day),
        minutes=10,
    )
    assert personas.client_for("care_manager").post(delete_url(personas, other)).status_code == 404
    assert TimeEntry.objects.filter(pk=other.pk).exists()


def test_the_day_is_the_patients_local_day_near_midnight(personas):
    from datetime import date

    import time_machine

    from tandem.patients.models import CareTeamMember

    CareTeamMember.objects.filter(patient=personas.patient).update(start=date(2025, 3, 1))
    client = personas.client_for("care_manager")
    # 03:00 UTC on 1 April is still 31 March (22:00) in Chicago, the patient's zone.
    with time_machine.travel("2025-04-01T03:00:00Z", tick=False):
        response = client.post(log_url(personas), form(personas, day="2025-04-01"))
        assert response.status_code == 400
        assert "today is 2025-03-31" in response.content.decode()
        assert client.post(log_url(personas), form(personas, day="2025-03-31")).status_code == 302
    entry = TimeEntry.objects.get()
    assert entry.month == date(2025, 3, 1)
