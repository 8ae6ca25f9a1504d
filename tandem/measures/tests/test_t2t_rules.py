"""Treat-to-target rules at every boundary, in both directions (pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from tandem.measures.signals.rules import SOURCES, Score, Thresholds, assess, baseline_index

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def series(*points: tuple[int, int]) -> list[Score]:
    """(day, total) pairs from T0."""
    return [Score(T0 + timedelta(days=day), total, n) for n, (day, total) in enumerate(points)]


def run(instrument: str, *points: tuple[int, int], **kw):
    return assess(instrument, series(*points), treatment_start=kw.pop("start", T0), **kw)


def test_no_scores_and_a_baseline_alone_are_not_judged():
    assert assess("phq-9", []).state == "no_data"
    only = run("phq-9", (0, 18))
    assert only.state == "baseline_only" and only.change is None


@pytest.mark.parametrize(("latest", "fired"), [(10, True), (11, False)])
def test_response_is_a_fall_of_half_the_baseline_or_more(latest, fired):
    result = run("phq-9", (0, 20), (42, latest))
    assert result.fired("response") is fired
    assert (result.state == "response") is fired


@pytest.mark.parametrize(("latest", "fired"), [(9, True), (10, False)])
def test_response_with_an_odd_baseline_needs_the_full_half(latest, fired):
    # 19 → 9.5 is half: 9 is a response, 10 is not.
    assert run("phq-9", (0, 19), (42, latest)).fired("response") is fired


@pytest.mark.parametrize(
    ("instrument", "latest", "fired"),
    [("phq-9", 4, True), ("phq-9", 5, False), ("gad-7", 4, True), ("gad-7", 5, False)],
)
def test_remission_is_below_5(instrument, latest, fired):
    result = run(instrument, (0, 16), (84, latest))
    assert result.fired("remission") is fired


def test_remission_threshold_is_configurable():
    strict = Thresholds(remission_below=4, reliable_change=5)
    assert not run("phq-9", (0, 16), (84, 4), thresholds=strict).fired("remission")
    assert run("phq-9", (0, 16), (84, 3), thresholds=strict).fired("remission")


@pytest.mark.parametrize(("latest", "fired"), [(11, True), (12, False)])
def test_phq9_reliable_improvement_is_a_fall_of_5_points(latest, fired):
    result = run("phq-9", (0, 16), (28, latest))
    assert result.fired("reliable_improvement") is fired


@pytest.mark.parametrize(("latest", "fired"), [(12, True), (13, False)])
def test_gad7_reliable_improvement_is_a_fall_of_4_points(latest, fired):
    assert run("gad-7", (0, 16), (28, latest)).fired("reliable_improvement") is fired


@pytest.mark.parametrize(("latest", "fired"), [(21, True), (20, False)])
def test_reliable_deterioration_is_a_rise_of_5_points_and_leads_the_state(latest, fired):
    result = run("phq-9", (0, 16), (84, latest))
    assert result.fired("reliable_deterioration") is fired
    assert (result.state == "deterioration") is fired
    if fired:  # no response by 12 weeks as well: both findings stand
        assert result.fired("needs_case_review")


def test_reliable_change_is_configurable():
    six = Thresholds(remission_below=5, reliable_change=6)
    assert not run("phq-9", (0, 16), (28, 11), thresholds=six).fired("reliable_improvement")
    assert run("phq-9", (0, 16), (28, 10), thresholds=six).fired("reliable_improvement")


@pytest.mark.parametrize(("day", "fired"), [(13, False), (14, True)])
def test_early_non_improvement_starts_after_2_weeks(day, fired):
    result = run("phq-9", (0, 20), (day, 17))  # 15 % better
    assert result.fired("early_non_improvement") is fired
    assert result.state == ("early_non_improvement" if fired else "too_early")


@pytest.mark.parametrize(("latest", "fired"), [(16, False), (17, True)])
def test_early_non_improvement_is_less_than_20_percent(latest, fired):
    # 20 → 16 is exactly 20 %: improvement; 17 is 15 %: not.
    result = run("phq-9", (0, 20), (21, latest))
    assert result.fired("early_non_improvement") is fired
    assert result.state == ("early_non_improvement" if fired else "on_track")


def test_early_clock_runs_from_the_day_the_dose_became_adequate():
    scores = series((0, 20), (21, 19))
    late_dose = T0 + timedelta(days=10)  # 11 days at an adequate dose at the score
    result = assess("phq-9", scores, treatment_start=T0, adequate_dose_since=late_dose)
    assert not result.fired("early_non_improvement") and result.state == "too_early"
    early = next(f for f in result.findings if f.rule == "early_non_improvement")
    assert "11 days at an adequate dose" in early.text
    sooner = assess("phq-9", scores, treatment_start=T0, adequate_dose_since=T0 + timedelta(days=7))
    assert sooner.fired("early_non_improvement")


@pytest.mark.parametrize(("day", "fired"), [(69, False), (70, True)])
def test_needs_case_review_without_response_by_10_weeks(day, fired):
    result = run("phq-9", (0, 20), (day, 12))  # 40 %: improved, but not a response
    assert result.fired("needs_case_review") is fired
    assert result.state == ("needs_case_review" if fired else "improving")


def test_no_case_review_after_a_response_or_in_remission():
    assert not run("phq-9", (0, 20), (84, 10)).fired("needs_case_review")
    # Baseline 6 → 4: only 33 % better, but in remission.
    result = run("phq-9", (0, 6), (84, 4))
    assert result.state == "remission" and not result.fired("needs_case_review")


@pytest.mark.parametrize(("baseline", "applies"), [(4, False), (5, True)])
def test_improvement_rules_need_a_baseline_at_or_above_remission(baseline, applies):
    result = run("phq-9", (0, baseline), (84, baseline))
    assert result.fired("needs_case_review") is applies
    response = next(f for f in result.findings if f.rule == "response")
    assert ("do not apply" in response.text) is not applies


def test_a_baseline_of_0_never_divides_by_zero():
    result = run("phq-9", (0, 0), (84, 0))
    assert result.state == "remission" and result.fall_percent is None


def test_baseline_is_the_last_score_before_treatment_started():
    scores = series((0, 12), (10, 18), (30, 9))
    assert baseline_index(scores, T0 + timedelta(days=12)) == 1
    result = assess("phq-9", scores, treatment_start=T0 + timedelta(days=12))
    assert result.baseline.total == 18 and result.fired("response")
    assert baseline_index(scores, None) == 0
    assert baseline_index(scores, T0 - timedelta(days=1)) == 0  # measured only after the start


def test_the_clock_runs_from_the_baseline_when_measurement_began_late():
    # Treatment started 200 days before the first score: judged from the baseline, not day 200.
    scores = series((0, 20), (28, 18))
    result = assess("phq-9", scores, treatment_start=T0 - timedelta(days=200))
    assert result.days == 28 and not result.fired("needs_case_review")
    assert result.fired("early_non_improvement")


def test_every_finding_explains_itself_and_cites_a_source():
    result = run("gad-7", (0, 14), (84, 12))
    rules = {f.rule for f in result.findings}
    assert rules == {
        "remission",
        "reliable_improvement",
        "reliable_deterioration",
        "response",
        "early_non_improvement",
        "needs_case_review",
    }
    for finding in result.findings:
        assert finding.text and finding.cite == SOURCES[finding.source]
    assert "unverified" in SOURCES["remission.gad-7"] and "§B" in SOURCES["review"]
    assert result.inputs["baseline"] == 14 and result.inputs["latest"] == 12


def test_thresholds_refuse_nonsense():
    with pytest.raises(ValueError):
        Thresholds(remission_below=5, reliable_change=0)
    with pytest.raises(ValueError):
        Thresholds(remission_below=5, reliable_change=5, response_fall=Fraction(3, 2))
    with pytest.raises(ValueError):
        Thresholds(remission_below=5, reliable_change=5, early_from_days=70, review_from_days=70)
