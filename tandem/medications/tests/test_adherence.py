"""Adherence rules, without the database. PDC cases follow clinical-facts.md §F (PQA) rule by
rule; the expected numbers are worked by hand in the comments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tandem.lib.timezones import at_local, daily
from tandem.medications.adherence import (
    PDC_THRESHOLD_ANTIRETROVIRAL,
    PQA,
    SOURCES,
    DoseRecord,
    DoseRules,
    Fill,
    PdcRules,
    ScheduledDose,
    dose_adherence,
    missed_doses_signal,
    missed_in_a_row,
    pdc,
    pdc_below_threshold,
    pdc_by_class,
    pdc_many,
    resolve_doses,
)

START, END = date(2025, 1, 1), date(2025, 12, 31)  # 365 days


def sertraline(day: date, supply: int = 30) -> Fill:
    return Fill("sertraline", "ssri", day, supply)


def escitalopram(day: date, supply: int = 30) -> Fill:
    return Fill("escitalopram", "ssri", day, supply)


def year_pdc(*fills: Fill, rules: PdcRules = PQA):
    return pdc(fills, START, END, drug_class="ssri", rules=rules)


# --- Index date and treatment period ---------------------------------------------------------


def test_the_first_fill_in_the_period_sets_the_index_date_whatever_the_input_order():
    result = year_pdc(sertraline(date(2025, 4, 1)), sertraline(date(2025, 3, 1)))
    assert result.index_date == date(2025, 3, 1)
    assert result.days_in_period == 306  # 1 March to 31 December, both counted
    assert result.days_covered == 60


def test_fills_before_the_period_are_ignored_supply_included():
    result = year_pdc(
        sertraline(date(2024, 12, 15)),  # would cover 1–13 January
        sertraline(date(2025, 2, 1)),
        sertraline(date(2025, 3, 3)),
    )
    assert result.index_date == date(2025, 2, 1)
    assert result.days_in_period == 334
    assert result.days_covered == 60
    assert result.covered == ((date(2025, 2, 1), date(2025, 4, 1)),)


def test_a_fill_before_the_period_does_not_shift_a_refill_inside_it():
    result = year_pdc(
        sertraline(date(2024, 12, 20), 90), sertraline(date(2025, 1, 10)), sertraline(date(2025, 2, 9))
    )
    assert result.index_date == date(2025, 1, 10)
    assert result.covered == ((date(2025, 1, 10), date(2025, 3, 10)),)


def test_the_period_ends_at_period_end_for_a_disenrolment_date():
    result = pdc(
        [sertraline(date(2025, 1, 1), 90), sertraline(date(2025, 4, 1), 90)], START, date(2025, 4, 30)
    )
    assert (result.days_in_period, result.days_covered) == (120, 120)


# --- Shifting, truncation, class counting ----------------------------------------------------


def test_a_refill_of_the_same_drug_five_days_early_is_shifted_to_the_day_after_the_supply_ends():
    # 1–30 January, then the 26 January refill runs 31 January – 1 March: 60 days, not 55.
    result = year_pdc(sertraline(date(2025, 1, 1)), sertraline(date(2025, 1, 26)))
    assert result.days_covered == 60
    assert result.covered == ((date(2025, 1, 1), date(2025, 3, 1)),)


def test_shifts_cascade_through_a_chain_of_early_refills():
    result = year_pdc(
        sertraline(date(2025, 1, 1)), sertraline(date(2025, 1, 20)), sertraline(date(2025, 2, 10))
    )
    assert result.covered == ((date(2025, 1, 1), date(2025, 3, 31)),)
    assert result.days_covered == 90


def test_overlapping_fills_of_different_drugs_of_a_class_are_not_shifted_but_counted_once():
    # sertraline 1–30 January, escitalopram 26 January – 24 February: 55 days, not 60.
    result = year_pdc(sertraline(date(2025, 1, 1)), escitalopram(date(2025, 1, 26)))
    assert result.days_covered == 55
    assert result.covered == ((date(2025, 1, 1), date(2025, 2, 24)),)


def test_two_ssris_on_the_same_days_count_each_day_once():
    result = year_pdc(
        sertraline(date(2025, 1, 1), 90), escitalopram(date(2025, 1, 1), 90), sertraline(date(2025, 4, 1))
    )
    assert result.days_covered == 120


def test_another_class_on_the_same_days_is_reported_for_its_own_class():
    venlafaxine = Fill("venlafaxine", "snri", date(2025, 1, 1), 90)
    results = pdc_by_class(
        [sertraline(date(2025, 1, 1)), sertraline(date(2025, 1, 31)), venlafaxine], START, END
    )
    assert results["ssri"].days_covered == 60
    assert results["snri"].days_covered == 90
    assert not results["snri"].eligible  # one fill


def test_supply_beyond_the_end_of_the_period_is_truncated():
    result = year_pdc(sertraline(date(2025, 10, 1)), sertraline(date(2025, 12, 1), 90))
    assert result.covered == (
        (date(2025, 10, 1), date(2025, 10, 30)),
        (date(2025, 12, 1), date(2025, 12, 31)),
    )
    assert (result.days_covered, result.days_in_period) == (61, 92)


def test_the_numerator_never_exceeds_the_denominator():
    result = year_pdc(sertraline(date(2025, 1, 1), 365), sertraline(date(2025, 6, 1), 365))
    assert (result.days_covered, result.pdc) == (365, 1.0)


def test_the_pqa_reference_case_of_three_early_and_late_refills():
    # pdc-dr.js: 2018-03-25 (to 06-22), 07-05 (to 10-02), 09-25 shifted to 10-03 – 12-31.
    fills = [
        sertraline(date(2018, 3, 25), 90),
        sertraline(date(2018, 7, 5), 90),
        sertraline(date(2018, 9, 25), 90),
    ]
    result = pdc(fills, date(2018, 1, 1), date(2018, 12, 31))
    assert result.covered == (
        (date(2018, 3, 25), date(2018, 6, 22)),
        (date(2018, 7, 5), date(2018, 12, 31)),
    )
    assert (result.days_covered, result.days_in_period) == (270, 282)


def test_the_pqa_reference_case_of_a_shifted_refill_and_a_truncated_last_fill():
    # pdc-dr.js: 03-25 becomes 04-01 – 06-29; 10-15 runs to 12-31 (truncated from 90 days to 78).
    days = [date(2018, 1, 1), date(2018, 3, 25), date(2018, 7, 5), date(2018, 10, 15)]
    result = pdc([sertraline(d, 90) for d in days], date(2018, 1, 1), date(2018, 12, 31))
    assert result.covered == (
        (date(2018, 1, 1), date(2018, 6, 29)),
        (date(2018, 7, 5), date(2018, 10, 2)),
        (date(2018, 10, 15), date(2018, 12, 31)),
    )
    assert result.days_covered == 90 + 90 + 90 + 78


def test_per_day_coverage_agrees_with_the_spans():
    result = year_pdc(sertraline(date(2025, 1, 1)), sertraline(date(2025, 3, 1)))
    days = list(result.days())
    assert len(days) == result.days_in_period
    assert sum(covered for _, covered in days) == result.days_covered
    assert result.covered_on(date(2025, 1, 30)) and not result.covered_on(date(2025, 1, 31))


# --- Threshold -------------------------------------------------------------------------------


def test_a_pdc_of_exactly_80_percent_is_adherent():
    # 146 + 146 = 292 of 365 days = 0.8 exactly (compared as integers, not floats).
    result = year_pdc(sertraline(date(2025, 1, 1), 146), sertraline(date(2025, 5, 27), 146))
    assert result.days_covered == 292
    assert result.eligible and result.adherent
    assert not pdc_below_threshold(result)


def test_a_pdc_of_79_7_percent_is_not_adherent():
    result = year_pdc(sertraline(date(2025, 1, 1), 146), sertraline(date(2025, 5, 27), 145))
    assert result.days_covered == 291
    assert round(result.pdc * 100, 1) == 79.7
    assert result.eligible and not result.adherent
    assert pdc_below_threshold(result)


def test_the_threshold_is_a_setting_for_the_90_percent_classes():
    rules = PdcRules(threshold=PDC_THRESHOLD_ANTIRETROVIRAL)
    assert rules.threshold == Fraction(9, 10)
    result = year_pdc(sertraline(date(2025, 1, 1), 146), sertraline(date(2025, 5, 27), 146), rules=rules)
    assert not result.adherent


# --- Eligibility -----------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [Fraction(0), Fraction(3, 2)])
def test_a_threshold_outside_0_to_1_is_refused_naming_the_field(threshold):
    with pytest.raises(ValueError, match="threshold"):
        PdcRules(threshold=threshold)


def test_one_fill_is_not_eligible_unless_the_minimum_is_set_to_one():
    only = sertraline(date(2025, 1, 1), 300)
    result = year_pdc(only)
    assert not result.eligible and "2 fills on different dates" in result.reason
    assert result.rule == "pdc_min_fill_dates" and result.rule in SOURCES
    assert not result.adherent and not pdc_below_threshold(result)
    assert result.pdc == 300 / 365  # still computed, for display
    assert year_pdc(only, rules=PdcRules(min_fill_dates=1)).adherent


def test_two_fills_on_the_same_date_are_one_date_of_service():
    assert not year_pdc(sertraline(date(2025, 1, 1)), escitalopram(date(2025, 1, 1))).eligible


def test_an_index_date_91_days_before_the_end_counting_both_is_eligible_and_90_is_not():
    eligible = year_pdc(sertraline(date(2025, 10, 2)), sertraline(date(2025, 11, 1)))
    assert (eligible.days_in_period, eligible.eligible) == (91, True)
    late = year_pdc(sertraline(date(2025, 10, 3)), sertraline(date(2025, 11, 1)))
    assert (late.days_in_period, late.eligible) == (90, False)
    assert "at least 91" in late.reason and late.rule == "pdc_min_treatment_days"


def test_the_ncqa_example_of_a_first_fill_on_1_november_is_excluded():
    result = year_pdc(sertraline(date(2025, 11, 1)), sertraline(date(2025, 12, 1)))
    assert result.days_in_period == 61 and not result.eligible


def test_no_fill_in_the_period_gives_no_index_date_and_no_pdc():
    result = year_pdc(sertraline(date(2024, 6, 1)))
    assert (result.eligible, result.index_date, result.pdc) == (False, None, None)
    assert not pdc_below_threshold(result)


def test_the_pharmacy_only_enrolment_proxy_needs_fills_of_any_drug_150_days_apart():
    rules = PdcRules(enrolment_proxy=True)
    fills = [sertraline(date(2025, 1, 1)), sertraline(date(2025, 2, 1))]
    assert not pdc([*fills, sertraline(date(2025, 5, 30))], START, END, rules=rules).eligible  # 149
    other_class = Fill("lithium", "mood stabiliser", date(2025, 5, 31), 30)  # 150 days on
    result = pdc([*fills, other_class], START, END, drug_class="ssri", rules=rules)
    assert result.eligible
    assert pdc(fills, START, END, drug_class="ssri").eligible  # off by default


# --- Refused input ---------------------------------------------------------------------------


@pytest.mark.parametrize("supply", [0, -30, 1.5, True])
def test_a_days_supply_that_is_not_a_positive_whole_number_is_refused_naming_the_field(supply):
    with pytest.raises(ValueError, match="days_supply"):
        Fill("sertraline", "ssri", date(2025, 1, 1), supply)


def test_a_period_ending_before_it_starts_is_refused_naming_the_field():
    with pytest.raises(ValueError, match="period_end"):
        pdc([sertraline(date(2025, 1, 1))], END, START)


def test_pdc_needs_the_class_when_the_fills_span_several():
    with pytest.raises(ValueError, match="drug_class"):
        pdc(
            [sertraline(date(2025, 1, 1)), Fill("lithium", "mood stabiliser", date(2025, 1, 1), 30)],
            START,
            END,
        )


def test_pdc_many_returns_each_patients_classes_and_a_no_fill_result_for_a_missing_class():
    results = pdc_many(
        [(1, [sertraline(date(2025, 1, 1)), sertraline(date(2025, 1, 31))]), (2, [])],
        START,
        END,
        drug_class="ssri",
    )
    assert results[1]["ssri"].days_covered == 60
    assert results[2]["ssri"].reason == "no fill of this class in the measurement period"


def test_every_pdc_rule_names_its_source_and_the_settings_not_in_f_say_so():
    assert all("§F" in SOURCES[key] for key in SOURCES if key.startswith("pdc"))
    assert SOURCES["pdc_min_fill_dates"].startswith("NOT IN §F")


# --- Dose-based adherence --------------------------------------------------------------------

NY, LONDON, SYDNEY = "America/New_York", "Europe/London", "Australia/Sydney"
# 01:30 and 02:45 are skipped or repeated on some of the change days; none lands on another.
WALLS = [time(0, 30), time(1, 30), time(2, 45), time(8, 0), time(23, 30)]


@pytest.mark.parametrize(
    ("tz", "change_day"),
    [
        (NY, date(2025, 3, 9)),  # 23-hour day
        (NY, date(2025, 11, 2)),  # 25-hour day
        (LONDON, date(2025, 3, 30)),
        (LONDON, date(2025, 10, 26)),
        (SYDNEY, date(2025, 4, 6)),  # clocks go back
        (SYDNEY, date(2025, 10, 5)),  # clocks go forward
    ],
)
def test_a_days_ratio_is_right_on_a_daylight_saving_change_day(tz, change_day):
    before, after = change_day - timedelta(days=1), change_day + timedelta(days=1)
    scheduled = [ScheduledDose(1, at) for wall in WALLS for at in daily(before, 3, wall, tz)]
    taken_walls = {before: WALLS, change_day: [time(0, 30), time(2, 45), time(23, 30)], after: []}
    records = [
        DoseRecord(1, due, "taken", due)
        for day, walls in taken_walls.items()
        for due in (at_local(day, wall, tz) for wall in walls)
    ]
    now = at_local(after + timedelta(days=5), time(12, 0), tz)

    result = dose_adherence(scheduled, records, tz=tz, now=now)

    assert sorted(result.by_day) == [before, change_day, after]
    assert [result.by_day[d].scheduled for d in (before, change_day, after)] == [5, 5, 5]
    assert result.by_day[before].ratio == 1.0
    assert (result.by_day[change_day].taken, result.by_day[change_day].missed) == (3, 2)
    assert result.by_day[change_day].ratio == 0.6
    assert result.by_day[after].ratio == 0.0


def test_two_schedule_rows_at_one_instant_are_one_dose():
    # London, 30 March 2025: 01:30 does not exist and moves to 02:30 BST, onto the 02:30 dose.
    due = at_local(date(2025, 3, 30), time(1, 30), LONDON)
    assert due == at_local(date(2025, 3, 30), time(2, 30), LONDON)
    scheduled = [ScheduledDose(1, due), ScheduledDose(1, due)]
    result = dose_adherence(
        scheduled, [DoseRecord(1, due, "taken", due)], tz=LONDON, now=due + timedelta(days=3)
    )
    assert (result.last_days.scheduled, result.last_days.ratio) == (1, 1.0)


def test_a_sunday_evening_dose_belongs_to_its_local_iso_week():
    # 20:30 EDT on Sunday 9 March 2025 is Monday 00:30 UTC, in ISO week 11.
    due = at_local(date(2025, 3, 9), time(20, 30), NY)
    assert due.astimezone(UTC).isocalendar()[1] == 11
    result = dose_adherence(
        [ScheduledDose(1, due)], [DoseRecord(1, due, "taken", due)], tz=NY, now=due + timedelta(hours=1)
    )
    assert list(result.by_week) == [(2025, 10)]
    assert result.by_week[(2025, 10)].ratio == 1.0


def test_doses_not_yet_due_are_not_counted():
    tz = ZoneInfo(NY)
    doses = [
        ScheduledDose(1, at)
        for wall in (time(8, 0), time(20, 0))
        for at in daily(date(2025, 6, 1), 2, wall, tz)
    ]
    records = [
        DoseRecord(1, d.due_at, "taken", d.due_at)
        for d in doses
        if d.due_at < at_local(date(2025, 6, 2), time(9, 0), tz)
    ]
    result = dose_adherence(doses, records, tz=tz, now=at_local(date(2025, 6, 2), time(12, 0), tz))
    today = result.by_day[date(2025, 6, 2)]
    assert (today.scheduled, today.pending, today.ratio) == (1, 0, 1.0)
    assert result.last_days.scheduled == 3


def test_an_unlogged_dose_is_pending_inside_the_grace_window_and_missed_after_it():
    due = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
    dose = [ScheduledDose(1, due)]
    inside = dose_adherence(dose, [], tz=LONDON, now=due + timedelta(hours=47))
    assert (inside.last_days.pending, inside.last_days.scheduled, inside.last_days.ratio) == (1, 0, None)
    after = dose_adherence(dose, [], tz=LONDON, now=due + timedelta(hours=48))
    assert (after.last_days.missed, after.last_days.ratio) == (1, 0.0)


def test_a_dose_logged_as_taken_36_hours_late_counts_as_taken_late():
    due = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
    record = DoseRecord(1, due, "taken", due + timedelta(hours=36))
    result = dose_adherence([ScheduledDose(1, due)], [record], tz=NY, now=due + timedelta(days=3))
    assert (result.last_days.taken, result.last_days.taken_late, result.last_days.ratio) == (0, 1, 1.0)
    assert (
        resolve_doses([ScheduledDose(1, due)], [record], now=due + timedelta(days=3))[0].status
        == "taken_late"
    )


def test_a_dose_taken_within_the_on_time_window_is_taken_and_after_the_grace_window_missed():
    due = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
    dose, now = [ScheduledDose(1, due)], due + timedelta(days=5)
    on_time = resolve_doses(dose, [DoseRecord(1, due, "taken", due + timedelta(hours=1))], now=now)
    too_late = resolve_doses(dose, [DoseRecord(1, due, "taken", due + timedelta(hours=50))], now=now)
    assert (on_time[0].status, too_late[0].status) == ("taken", "missed")
    longer = resolve_doses(
        dose,
        [DoseRecord(1, due, "taken", due + timedelta(hours=50))],
        now=now,
        rules=DoseRules(grace=timedelta(hours=72)),
    )
    assert longer[0].status == "taken_late"


def test_as_needed_doses_are_not_in_the_ratio():
    due = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
    scheduled = [ScheduledDose(1, due), ScheduledDose(2, due)]
    records = [
        DoseRecord(1, due, "taken", due),
        DoseRecord(3, due, "taken", due),
    ]  # 3: an unscheduled PRN dose
    result = dose_adherence(scheduled, records, tz=NY, now=due + timedelta(days=3), as_needed=[2])
    assert (result.last_days.scheduled, result.last_days.ratio) == (1, 1.0)


def test_the_last_30_days_are_local_days_up_to_today():
    tz = SYDNEY
    doses = [ScheduledDose(1, at) for at in daily(date(2025, 5, 1), 40, time(8, 0), tz)]
    records = [DoseRecord(1, d.due_at, "taken", d.due_at) for d in doses[10:]]  # first 10 missed
    result = dose_adherence(doses, records, tz=tz, now=at_local(date(2025, 6, 9), time(12, 0), tz))
    assert (result.last_days.scheduled, result.last_days.ratio) == (30, 1.0)
    assert sum(c.missed for c in result.by_day.values()) == 10


def test_a_naive_due_time_is_refused_naming_the_field():
    with pytest.raises(ValueError, match="due_at"):
        ScheduledDose(1, datetime(2025, 6, 2, 12, 0))  # noqa: DTZ001


def test_a_naive_now_is_refused_naming_the_field():
    with pytest.raises(ValueError, match="now"):
        dose_adherence([], [], tz=NY, now=datetime(2025, 6, 2, 12, 0))  # noqa: DTZ001


def test_the_schedules_own_due_doses_can_be_passed_as_they_are():
    @dataclass(frozen=True)
    class DueDose:  # the shape of tandem.medications.schedule.DueDose
        regimen_id: int
        version_id: int
        due_at: datetime

    due = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
    result = dose_adherence([DueDose(1, 7, due)], [], tz=NY, now=due + timedelta(days=3))
    assert result.last_days.missed == 1


def test_an_unknown_status_is_refused_naming_the_field():
    with pytest.raises(ValueError, match="status"):
        DoseRecord(1, datetime(2025, 6, 2, 12, 0, tzinfo=UTC), "forgot")  # type: ignore[arg-type]


# --- Missed doses in a row -------------------------------------------------------------------


def records_of(regimen_id: int, *statuses: str) -> list[DoseRecord]:
    first = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    return [
        DoseRecord(regimen_id, first + timedelta(days=i), status)  # type: ignore[arg-type]
        for i, status in enumerate(statuses)
    ]


def test_three_missed_doses_in_a_row_raise_the_signal():
    records = records_of(1, "taken", "missed", "missed", "missed")
    assert missed_in_a_row(records) == 3
    assert missed_doses_signal(records)


def test_two_missed_in_a_row_do_not():
    assert not missed_doses_signal(records_of(1, "missed", "taken", "missed", "missed"))


def test_a_taken_or_skipped_dose_ends_the_run():
    assert missed_in_a_row(records_of(1, "missed", "missed", "missed", "taken_late")) == 0
    assert missed_in_a_row(records_of(1, "missed", "missed", "skipped")) == 0


def test_runs_are_counted_per_regimen():
    records = records_of(1, "missed", "missed", "missed") + records_of(2, "taken", "taken", "taken")
    assert missed_in_a_row(reversed(records)) == 3


def test_three_unlogged_doses_past_the_grace_window_are_three_missed_in_a_row():
    doses = [ScheduledDose(1, r.due_at) for r in records_of(1, "missed", "missed", "missed")]
    resolved = resolve_doses(doses, [], now=doses[-1].due_at + timedelta(hours=48))
    assert missed_in_a_row(resolved) == 3


# --- The interval arithmetic against a day array ---------------------------------------------


def day_array_pdc(fills: list[Fill], start: date, end: date) -> tuple[date | None, int]:
    """The PQA computation done the slow way, one day at a time, for comparison."""
    in_period = sorted((f for f in fills if start <= f.fill_date <= end), key=lambda f: f.fill_date)
    if not in_period:
        return None, 0
    covered: set[date] = set()
    for drug in {f.drug_key for f in in_period}:
        taken: set[date] = set()
        for fill in (f for f in in_period if f.drug_key == drug):
            day = fill.fill_date
            while day in taken:  # shifted to the day after this drug's supply ends
                day += timedelta(days=1)
            for offset in range(fill.days_supply):
                taken.add(day + timedelta(days=offset))
        covered |= {d for d in taken if d <= end}
    return in_period[0].fill_date, len(covered)


fill_strategy = st.builds(
    Fill,
    drug_key=st.sampled_from(["sertraline", "escitalopram"]),
    drug_class=st.just("ssri"),
    fill_date=st.dates(date(2024, 11, 1), date(2025, 12, 31)),
    days_supply=st.integers(1, 120),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(fill_strategy, max_size=8))
def test_the_spans_agree_with_a_day_by_day_count(fills):
    index, covered = day_array_pdc(fills, START, END)
    result = pdc(fills, START, END, drug_class="ssri")
    assert (result.index_date, result.days_covered) == (index, covered)
    assert sum(flag for _, flag in result.days()) == covered
