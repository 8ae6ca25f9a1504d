from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tandem.medications.actions import MedicationError, do_change_regimen, do_log_dose, do_start_regimen
from tandem.medications.models import DoseLog, DoseStatus


def sertraline(personas, start: datetime, times=("08:00", "20:00"), **extra):
    return do_start_regimen(
        personas.patient,
        drug_key="sertraline",
        drug_name="Sertraline",
        drug_classes=["ssri"],
        dose_amount=50,
        times=list(times),
        reason="Start for depression",
        acting_user=personas.prescriber,
        role="prescriber",
        effective_at=start,
        **extra,
    )


def chicago(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(
        year, month, day, hour, minute, tzinfo=ZoneInfo("America/Chicago")
    )  # the personas' patient lives there


@pytest.mark.django_db
def test_the_same_submit_twice_records_one_dose(personas):
    regimen = sertraline(personas, chicago(2026, 6, 1, 0, 0))
    due = chicago(2026, 6, 2, 8, 0)
    with time_machine.travel(due + timedelta(minutes=10), tick=False):
        first, created = do_log_dose(
            personas.patient,
            regimen,
            status="taken",
            due_at=due,
            idempotency_key="tap-000001",
            acting_user=personas.patient_user,
        )
        again, created_again = do_log_dose(
            personas.patient,
            regimen,
            status="taken",
            due_at=due,
            idempotency_key="tap-000001",
            acting_user=personas.patient_user,
        )
    assert created and not created_again and first.pk == again.pk
    assert DoseLog.objects.count() == 1


@pytest.mark.django_db
def test_a_second_record_of_the_same_dose_with_another_key_is_refused(personas):
    regimen = sertraline(personas, chicago(2026, 6, 1, 0, 0))
    due = chicago(2026, 6, 2, 8, 0)
    with time_machine.travel(due, tick=False):
        do_log_dose(
            personas.patient,
            regimen,
            status="taken",
            due_at=due,
            idempotency_key="tap-000001",
            acting_user=personas.patient_user,
        )
        with pytest.raises(MedicationError) as exc:
            do_log_dose(
                personas.patient,
                regimen,
                status="skipped",
                reason="x",
                due_at=due,
                idempotency_key="tap-000002",
                acting_user=personas.patient_user,
            )
    assert exc.value.field == "due_at"
    assert DoseLog.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"status": "taken", "due_at_offset_hours": 49}, "due_at"),  # older than 48 h
        ({"status": "taken", "due_at_offset_hours": -5}, "due_at"),  # not due yet
        ({"status": "skipped", "due_at_offset_hours": 1}, "reason"),  # a skip needs a reason
        ({"status": "taken_late", "due_at_offset_hours": 1}, "taken_at"),  # when was it taken?
        ({"status": "bogus", "due_at_offset_hours": 1}, "status"),
        ({"status": "prn", "due_at_offset_hours": 1}, "status"),  # not an as-needed medicine
    ],
)
def test_bad_dose_records_name_the_field_and_record_nothing(personas, kwargs, field):
    regimen = sertraline(personas, chicago(2026, 6, 1, 0, 0))
    due = chicago(2026, 6, 3, 8, 0)
    with (
        time_machine.travel(due + timedelta(hours=kwargs["due_at_offset_hours"]), tick=False),
        pytest.raises(MedicationError) as exc,
    ):
        do_log_dose(
            personas.patient,
            regimen,
            status=kwargs["status"],
            due_at=due,
            idempotency_key="tap-000009",
            acting_user=personas.patient_user,
        )
    assert exc.value.field == field
    assert not DoseLog.objects.exists()


@pytest.mark.django_db
def test_a_time_that_is_not_a_dose_time_and_a_future_taken_time_are_refused(personas):
    regimen = sertraline(personas, chicago(2026, 6, 1, 0, 0))
    with time_machine.travel(chicago(2026, 6, 2, 10, 0), tick=False):
        with pytest.raises(MedicationError, match="not one of this medication's dose times"):
            do_log_dose(
                personas.patient,
                regimen,
                status="taken",
                due_at=chicago(2026, 6, 2, 9, 0),
                idempotency_key="tap-000010",
                acting_user=personas.patient_user,
            )
        with pytest.raises(MedicationError) as exc:
            do_log_dose(
                personas.patient,
                regimen,
                status="taken_late",
                due_at=chicago(2026, 6, 2, 8, 0),
                taken_at=chicago(2026, 6, 2, 11, 0),
                idempotency_key="tap-000011",
                acting_user=personas.patient_user,
            )
        assert exc.value.field == "taken_at"


@pytest.mark.django_db
def test_a_dose_after_the_regimen_stopped_is_refused(personas):
    regimen = sertraline(personas, chicago(2026, 6, 1, 0, 0))
    with time_machine.travel(chicago(2026, 6, 2, 12, 0), tick=False):
        do_change_regimen(regimen, kind="stop", reason="Rash", acting_user=personas.prescriber)
    with time_machine.travel(chicago(2026, 6, 2, 20, 30), tick=False), pytest.raises(MedicationError) as exc:
        do_log_dose(
            personas.patient,
            regimen,
            status="taken",
            due_at=chicago(2026, 6, 2, 20, 0),
            idempotency_key="tap-000012",
            acting_user=personas.patient_user,
        )
    assert exc.value.field == "regimen"


@pytest.mark.django_db
def test_a_dose_change_applies_to_the_schedule_from_that_moment(personas):
    regimen = sertraline(personas, chicago(2026, 6, 1, 0, 0))
    with time_machine.travel(chicago(2026, 6, 2, 12, 0), tick=False):
        do_change_regimen(
            regimen, kind="change", times=["21:00"], reason="Evening only", acting_user=personas.prescriber
        )
    with time_machine.travel(chicago(2026, 6, 2, 21, 5), tick=False):
        with pytest.raises(MedicationError):  # 20:00 is no longer a dose time
            do_log_dose(
                personas.patient,
                regimen,
                status="taken",
                due_at=chicago(2026, 6, 2, 20, 0),
                idempotency_key="tap-000013",
                acting_user=personas.patient_user,
            )
        do_log_dose(
            personas.patient,
            regimen,
            status="taken",
            due_at=chicago(2026, 6, 2, 21, 0),
            idempotency_key="tap-000014",
            acting_user=personas.patient_user,
        )


@pytest.mark.django_db
def test_as_needed_doses_need_a_reason_and_respect_the_daily_maximum(personas):
    regimen = do_start_regimen(
        personas.patient,
        drug_key="hydroxyzine",
        drug_name="Hydroxyzine",
        drug_classes=["anxiolytic"],
        dose_amount=25,
        schedule_kind="prn",
        prn_max_per_day=2,
        reason="For anxiety",
        acting_user=personas.prescriber,
        effective_at=chicago(2026, 6, 1, 0, 0),
    )
    with time_machine.travel(chicago(2026, 6, 2, 9, 0), tick=False):
        with pytest.raises(MedicationError) as exc:
            do_log_dose(
                personas.patient,
                regimen,
                status="prn",
                idempotency_key="prn-000001",
                acting_user=personas.patient_user,
            )
        assert exc.value.field == "reason"
        for n in (2, 3):
            do_log_dose(
                personas.patient,
                regimen,
                status="prn",
                reason="Panic at work",
                idempotency_key=f"prn-00000{n}",
                acting_user=personas.patient_user,
            )
        with pytest.raises(MedicationError, match="most for one day is 2"):
            do_log_dose(
                personas.patient,
                regimen,
                status="prn",
                reason="Again",
                idempotency_key="prn-000004",
                acting_user=personas.patient_user,
            )


@pytest.mark.django_db
def test_the_patient_logs_todays_dose_with_one_tap(personas):
    regimen = sertraline(personas, timezone.now() - timedelta(days=3), times=["00:01"])
    client = personas.client_for("patient")
    page = client.get(reverse("portal:doses")).content.decode()
    assert "Sertraline" in page and "Taken" in page
    now_local = timezone.localtime(timezone.now(), personas.patient.tz)
    due = now_local.replace(hour=0, minute=1, second=0, microsecond=0)
    data = {"regimen": regimen.pk, "due_at": due.isoformat(), "key": "tap-abcdefgh", "status": "taken"}
    response = client.post(reverse("portal:log_dose"), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    again = client.post(reverse("portal:log_dose"), data, HTTP_HX_REQUEST="true")  # a double tap
    assert again.status_code == 200
    assert DoseLog.objects.filter(status=DoseStatus.TAKEN).count() == 1
    assert "Taken at" in again.content.decode()


@pytest.mark.django_db
def test_another_patients_regimen_cannot_be_logged(personas):
    regimen = sertraline(personas, timezone.now() - timedelta(days=3), times=["00:01"])
    response = personas.client_for("other_patient").post(
        reverse("portal:log_dose"),
        {"regimen": regimen.pk, "status": "taken", "key": "tap-xxxxxxxx"},
        follow=True,
    )
    assert "not on your list" in response.content.decode()
    assert not DoseLog.objects.exists()
