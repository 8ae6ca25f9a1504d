"""Due instruments: from the active plan's monitoring section, and after a positive screen."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tandem.measures.actions import do_record_response
from tandem.measures.schedule import due_instruments
from tandem.measures.tests.helpers import answers
from tandem.plans import actions as plan_actions

pytestmark = pytest.mark.django_db
CHICAGO = ZoneInfo("America/Chicago")  # the personas' patient lives there
TODAY = date(2025, 6, 20)


def plan(personas, monitoring, *, activate=True):
    created = plan_actions.do_create_plan(
        personas.patient, acting_user=personas.prescriber, content={"monitoring": monitoring}
    )
    if activate:
        plan_actions.do_set_plan_status(created, "active", acting_user=personas.prescriber)
    return created


def give(personas, instrument, values, when, *, key=None, drop=None):
    given = answers(instrument, values)
    if drop:
        given.pop(drop)
    return do_record_response(
        personas.patient,
        instrument=instrument,
        answers=given,
        administered_by="patient",
        source="portal",
        idempotency_key=key or f"{instrument}-{when.isoformat()}",
        acting_user=personas.patient_user,
        authored_at=when,
        now=when,
    ).response


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHICAGO)


def due_ids(personas, today=TODAY):
    return [d.instrument for d in due_instruments(personas.patient, today)]


def test_nothing_is_due_without_an_active_plan(personas):
    assert due_ids(personas) == []
    plan(personas, [{"instrument": "phq9", "every_days": 14}], activate=False)  # a draft
    assert due_ids(personas) == []


def test_a_planned_instrument_never_given_is_due_today(personas):
    plan(personas, [{"instrument": "phq9", "every_days": 14}, {"instrument": "gad7", "every_days": 28}])
    due = due_instruments(personas.patient, TODAY)
    assert [(d.instrument, d.due_on, d.every_days) for d in due] == [
        ("gad-7", TODAY, 28),
        ("phq-9", TODAY, 14),
    ]


def test_it_is_due_again_every_n_days_counted_in_the_patients_time_zone(personas):
    plan(personas, [{"instrument": "phq9", "every_days": 14}])
    # 23:30 in Chicago on 1 June is already 2 June in UTC: the patient's date is what counts.
    give(personas, "phq-9", [1] * 9, datetime(2025, 6, 1, 23, 30, tzinfo=CHICAGO))
    assert due_ids(personas, date(2025, 6, 14)) == []
    due = due_instruments(personas.patient, date(2025, 6, 15))
    assert [(d.instrument, d.due_on) for d in due] == [("phq-9", date(2025, 6, 15))]
    assert due[0].overdue_days(date(2025, 6, 18)) == 3


def test_an_incomplete_form_does_not_count_as_given(personas):
    plan(personas, [{"instrument": "phq9", "every_days": 14}])
    give(personas, "phq-9", [1] * 9, at(TODAY - timedelta(days=2)), drop="/44252-5")
    assert due_ids(personas) == ["phq-9"]


def test_a_positive_phq2_makes_the_phq9_due_now_until_it_is_given(personas):
    give(personas, "phq-2", [2, 1], at(TODAY - timedelta(days=3)))
    due = due_instruments(personas.patient, TODAY)
    assert [d.instrument for d in due] == ["phq-9"]
    assert "PHQ-2 positive (3)" in due[0].reason
    give(personas, "phq-9", [1] * 9, at(TODAY - timedelta(days=1)))
    assert due_ids(personas) == []


def test_a_negative_phq2_makes_nothing_due(personas):
    give(personas, "phq-2", [1, 1], at(TODAY - timedelta(days=3)))
    assert due_ids(personas) == []


def test_a_phq9_given_before_the_positive_phq2_does_not_satisfy_it(personas):
    give(personas, "phq-9", [0] * 9, at(TODAY - timedelta(days=10)))
    give(personas, "phq-2", [3, 3], at(TODAY - timedelta(days=2)))
    assert due_ids(personas) == ["phq-9"]


def test_only_the_latest_screen_counts(personas):
    give(personas, "gad-2", [3, 3], at(TODAY - timedelta(days=9)))
    give(personas, "gad-2", [0, 1], at(TODAY - timedelta(days=2)))
    assert due_ids(personas) == []
    give(personas, "gad-2", [2, 2], at(TODAY - timedelta(days=1)))
    assert due_ids(personas) == ["gad-7"]


def test_a_planned_instrument_also_due_from_a_screen_is_listed_once(personas):
    plan(personas, [{"instrument": "phq9", "every_days": 28}])
    give(personas, "phq-9", [0] * 9, at(TODAY - timedelta(days=7)))
    give(personas, "phq-2", [3, 0], at(TODAY - timedelta(days=1)))
    due = due_instruments(personas.patient, TODAY)
    assert [(d.instrument, d.every_days) for d in due] == [("phq-9", 28)]


def test_it_takes_three_queries_whatever_the_plan(personas):
    plan(personas, [{"instrument": k, "every_days": 7} for k in ("phq9", "gad7", "auditc", "who5", "fibser")])
    give(personas, "phq-2", [3, 3], at(TODAY - timedelta(days=1)))
    give(personas, "gad-2", [0, 0], at(TODAY - timedelta(days=1)))
    with CaptureQueriesContext(connection) as queries:
        due_instruments(personas.patient, TODAY)
    assert len(queries) == 3
