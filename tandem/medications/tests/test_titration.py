"""Titration and taper schedules: exact dates, from the label table (clinical-facts.md §D). No database."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tandem.medications import catalog, titration
from tandem.medications.titration import Step

START = date(2026, 3, 2)


def test_the_standard_lamotrigine_titration_has_exact_dates():
    assert titration.lamotrigine(START) == [
        Step(date(2026, 3, 2), date(2026, 3, 15), 25, "25 mg a day"),
        Step(date(2026, 3, 16), date(2026, 3, 29), 50, "50 mg a day"),
        Step(date(2026, 3, 30), date(2026, 4, 5), 100, "100 mg a day"),
        Step(date(2026, 4, 6), None, 200, "200 mg a day (target)"),
    ]


def test_the_lamotrigine_titration_with_valproate_starts_every_other_day():
    assert titration.lamotrigine(START, with_valproate=True) == [
        Step(date(2026, 3, 2), date(2026, 3, 15), 12.5, "25 mg every other day"),
        Step(date(2026, 3, 16), date(2026, 3, 29), 25, "25 mg a day"),
        Step(date(2026, 3, 30), date(2026, 4, 5), 50, "50 mg a day"),
        Step(date(2026, 4, 6), None, 100, "100 mg a day (target)"),
    ]


def test_the_lamotrigine_titration_with_an_enzyme_inducer_doubles_the_doses():
    steps = titration.lamotrigine(START, with_enzyme_inducer=True)
    assert [(s.from_date, s.to_date, s.daily_dose_mg) for s in steps] == [
        (date(2026, 3, 2), date(2026, 3, 15), 50),
        (date(2026, 3, 16), date(2026, 3, 29), 100),
        (date(2026, 3, 30), date(2026, 4, 5), 200),
        (date(2026, 4, 6), None, 300),
    ]
    assert "400" in steps[-1].instruction
    assert all(s.confidence == "secondary" for s in titration.LAMOTRIGINE_WITH_ENZYME_INDUCER.sources)


def test_with_valproate_and_an_inducer_the_slower_valproate_schedule_is_used():
    assert titration.lamotrigine(
        START, with_valproate=True, with_enzyme_inducer=True
    ) == titration.lamotrigine(START, with_valproate=True)


def test_a_titration_across_the_end_of_february_in_a_leap_year_counts_days_exactly():
    steps = titration.lamotrigine(date(2028, 2, 20))
    assert [s.from_date for s in steps] == [
        date(2028, 2, 20),
        date(2028, 3, 5),
        date(2028, 3, 19),
        date(2028, 3, 26),
    ]
    assert steps[0].to_date == date(2028, 3, 4)


def test_the_template_is_chosen_from_the_drugs_taken_alongside():
    get = catalog.get
    assert titration.lamotrigine_template([]) is titration.LAMOTRIGINE_STANDARD
    assert titration.lamotrigine_template([get("sertraline")]) is titration.LAMOTRIGINE_STANDARD
    assert titration.lamotrigine_template([get("divalproex")]) is titration.LAMOTRIGINE_WITH_VALPROATE
    assert titration.lamotrigine_template([get("carbamazepine")]) is titration.LAMOTRIGINE_WITH_ENZYME_INDUCER
    assert (
        titration.lamotrigine_template([get("carbamazepine"), get("valproic_acid")])
        is titration.LAMOTRIGINE_WITH_VALPROATE
    )


def test_every_template_cites_the_titration_table():
    for template in titration.TEMPLATES.values():
        assert template.sources[0].citation.startswith("Lamotrigine bipolar titration table")
        assert template.schedule(START)[-1].to_date is None


def test_a_taper_to_zero_has_exact_dates_and_ends_with_stop():
    assert titration.taper(START, 100, 0, 25, 7) == [
        Step(date(2026, 3, 2), date(2026, 3, 8), 75, "75 mg a day"),
        Step(date(2026, 3, 9), date(2026, 3, 15), 50, "50 mg a day"),
        Step(date(2026, 3, 16), date(2026, 3, 22), 25, "25 mg a day"),
        Step(date(2026, 3, 23), None, 0, "Stop"),
    ]


def test_a_taper_that_does_not_divide_evenly_stops_at_the_target():
    assert titration.taper(START, 100, 30, 25, 14) == [
        Step(date(2026, 3, 2), date(2026, 3, 15), 75, "75 mg a day"),
        Step(date(2026, 3, 16), date(2026, 3, 29), 50, "50 mg a day"),
        Step(date(2026, 3, 30), None, 30, "30 mg a day"),
    ]


def test_a_taper_in_fractions_of_a_milligram_keeps_exact_doses():
    steps = titration.taper(START, 1, 0, 0.25, 3)
    assert [s.daily_dose_mg for s in steps] == [0.75, 0.5, 0.25, 0]
    assert steps[0].instruction == "0.75 mg a day" and steps[-1].from_date == date(2026, 3, 11)


def test_a_daily_taper_has_one_day_steps():
    steps = titration.taper(START, 3, 0, 1, 1)
    assert [(s.from_date, s.to_date) for s in steps] == [
        (date(2026, 3, 2), date(2026, 3, 2)),
        (date(2026, 3, 3), date(2026, 3, 3)),
        (date(2026, 3, 4), None),
    ]


@pytest.mark.parametrize(
    ("from_mg", "to_mg", "step_mg", "every_days"),
    [(50, 50, 10, 7), (50, 60, 10, 7), (50, -1, 10, 7), (50, 0, 0, 7), (50, 0, -5, 7), (50, 0, 10, 0)],
)
def test_a_taper_refuses_arguments_that_make_no_schedule(from_mg, to_mg, step_mg, every_days):
    with pytest.raises(ValueError):
        titration.taper(START, from_mg, to_mg, step_mg, every_days)


def test_a_taper_refuses_more_steps_than_a_year_of_days():
    with pytest.raises(ValueError, match="steps"):
        titration.taper(START, 1000, 0, 1, 1)


@given(
    from_mg=st.integers(1, 400),
    to_mg=st.integers(0, 399),
    step_mg=st.sampled_from([0.5, 1, 2.5, 5, 10, 12.5, 25, 50]),
    every_days=st.integers(1, 28),
)
def test_a_taper_is_contiguous_strictly_falling_and_ends_at_the_target(from_mg, to_mg, step_mg, every_days):
    if to_mg >= from_mg or (from_mg - to_mg) / step_mg > titration.MAX_TAPER_STEPS:
        return
    steps = titration.taper(START, from_mg, to_mg, step_mg, every_days)
    assert steps[0].from_date == START and steps[-1].to_date is None
    assert steps[-1].daily_dose_mg == to_mg
    for before, after in itertools.pairwise(steps):
        assert before.to_date is not None and after.from_date == before.to_date + timedelta(days=1)
        assert (before.to_date - before.from_date).days == every_days - 1
        assert after.daily_dose_mg < before.daily_dose_mg
    assert all(to_mg <= s.daily_dose_mg < from_mg for s in steps)
