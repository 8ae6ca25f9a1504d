from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tandem.lib.timezones import local_date
from tandem.medications.actions import advance_regimens, do_change_regimen
from tandem.medications.models import Regimen
from tandem.medications.queries import patient_due_doses


def url(personas, name: str, **kwargs) -> str:
    return reverse(name, kwargs={"patient_id": personas.patient.pk, **kwargs})


def start_lamotrigine(personas, titration: str):
    data = {
        "drug": "lamotrigine",
        "titration": titration,
        "dose_amount": "200",
        "dose_unit": "mg",
        "route": "oral",
        "schedule_kind": "scheduled",
        "times": "08:00",
        "every_days": "1",
        "reason": "Bipolar II depression",
    }
    client = personas.client_for("prescriber")
    response = client.post(url(personas, "medications:start"), data)
    if response.status_code == 200:  # checks shown first (e.g. monitoring prompts): confirm
        data["confirmed"] = response.context["form"].data["confirmed"]
        data["override_reason"] = "Titrating per the label"
        response = client.post(url(personas, "medications:start"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return Regimen.objects.get(drug_key="lamotrigine")


@pytest.mark.django_db
def test_a_lamotrigine_titration_with_valproate_plans_dated_steps(personas):
    regimen = start_lamotrigine(personas, "lamotrigine_valproate")
    versions = list(regimen.versions.order_by("number"))
    assert versions[0].every_days == 2 and float(versions[0].dose_amount) == 25.0  # 25 mg every other day
    assert [float(v.daily_amount) for v in versions] == [12.5, 25.0, 50.0, 100.0]
    assert regimen.current == versions[0]
    today = local_date(timezone.now(), personas.patient.time_zone)
    assert local_date(versions[1].effective_at, personas.patient.time_zone) == today + timedelta(days=14)
    page = (
        personas.client_for("therapist")
        .get(url(personas, "medications:detail", regimen_id=regimen.pk))
        .content.decode()
    )
    assert "Planned steps" in page and "50 mg a day" in page


@pytest.mark.django_db
def test_planned_steps_take_effect_on_their_day(personas):
    regimen = start_lamotrigine(personas, "lamotrigine_standard")
    tz = personas.patient.time_zone
    today = local_date(timezone.now(), tz)
    later = today + timedelta(days=15)
    doses = patient_due_doses(personas.patient, later, later, regimen_ids=[regimen.pk])
    assert len(doses) == 1
    with time_machine.travel(timezone.now() + timedelta(days=15)):
        assert advance_regimens(timezone.now()) == 1
    regimen.refresh_from_db()
    assert float(regimen.current.daily_amount) == 50.0


@pytest.mark.django_db
def test_a_taper_plans_steps_down_to_a_stop(personas):
    client = personas.client_for("prescriber")
    client.post(
        url(personas, "medications:start"),
        {
            "drug": "sertraline",
            "dose_amount": "100",
            "dose_unit": "mg",
            "route": "oral",
            "schedule_kind": "scheduled",
            "times": "08:00",
            "every_days": "1",
            "reason": "Start",
        },
    )
    regimen = Regimen.objects.get()
    change = url(personas, "medications:change", regimen_id=regimen.pk)
    base = {
        "dose_amount": "100",
        "dose_unit": "mg",
        "route": "oral",
        "schedule_kind": "scheduled",
        "times": "08:00",
        "every_days": "1",
        "kind": "taper",
        "reason": "Remission for a year",
    }
    missing = client.post(change, base)
    assert missing.status_code == 400 and "Needed for a taper." in missing.content.decode()
    response = client.post(
        change, {**base, "taper_to_mg": "0", "taper_step_mg": "25", "taper_every_days": "7"}
    )
    assert response.status_code == 302
    kinds = [v.kind for v in regimen.versions.order_by("number")]
    assert kinds == ["start", "decrease", "decrease", "decrease", "stop"]


@pytest.mark.django_db
def test_a_change_by_hand_replaces_the_planned_steps(personas):
    regimen = start_lamotrigine(personas, "lamotrigine_standard")
    assert regimen.versions.count() == 4
    do_change_regimen(regimen, kind="stop", reason="Rash", acting_user=personas.prescriber)
    regimen.refresh_from_db()
    assert [v.kind for v in regimen.versions.order_by("number")] == ["start", "stop"]


@pytest.mark.django_db
def test_a_titration_is_for_lamotrigine_only(personas):
    response = personas.client_for("prescriber").post(
        url(personas, "medications:start"),
        {
            "drug": "sertraline",
            "titration": "lamotrigine_standard",
            "dose_amount": "50",
            "dose_unit": "mg",
            "route": "oral",
            "schedule_kind": "scheduled",
            "times": "08:00",
            "every_days": "1",
            "reason": "Start",
        },
    )
    assert response.status_code == 400
    assert "These titrations are for lamotrigine." in response.content.decode()
