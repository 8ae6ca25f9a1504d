"""Scoring as published: every band at every boundary, the screens, the flags and the safety rule.

The expected bands are written out here from clinical-facts.md, not read from the definitions,
so a wrong definition fails these tests.
"""

from __future__ import annotations

import pytest

from tandem.measures.definitions import get
from tandem.measures.rules import AnswerError, score
from tandem.measures.tests.helpers import answers, phq9, values_for_total

# (instrument, total, band key) at both ends of every band.
BOUNDARIES = [
    *[("phq-9", t, "none-minimal") for t in (0, 4)],
    *[("phq-9", t, "mild") for t in (5, 9)],
    *[("phq-9", t, "moderate") for t in (10, 14)],
    *[("phq-9", t, "moderately-severe") for t in (15, 19)],
    *[("phq-9", t, "severe") for t in (20, 27)],
    *[("gad-7", t, "minimal") for t in (0, 4)],
    *[("gad-7", t, "mild") for t in (5, 9)],
    *[("gad-7", t, "moderate") for t in (10, 14)],
    *[("gad-7", t, "severe") for t in (15, 21)],
    *[("phq-2", t, "negative") for t in (0, 2)],
    *[("phq-2", t, "positive") for t in (3, 6)],
    *[("gad-2", t, "negative") for t in (0, 2)],
    *[("gad-2", t, "positive") for t in (3, 6)],
    *[("who-5", t, "likely-depression") for t in (0, 7)],
    *[("who-5", t, "poor-well-being") for t in (8, 12)],
    *[("who-5", t, "above-cut-off") for t in (13, 25)],
    *[("asrm", t, "below-cut-off") for t in (0, 5)],
    *[("asrm", t, "probable-mania") for t in (6, 20)],
]


@pytest.mark.parametrize(("instrument", "total", "band"), BOUNDARIES)
def test_it_bands_every_boundary_as_published(instrument, total, band):
    defn = get(instrument)
    result = score(defn, answers(defn, values_for_total(defn, total)))
    assert result.scored
    assert result.total == total
    assert result.band == band


@pytest.mark.parametrize(
    ("instrument", "cutoff"), [("phq-2", 3), ("gad-2", 3), ("phq-9", 10), ("gad-7", 10), ("asrm", 6)]
)
def test_a_screen_is_positive_from_its_cutoff_and_not_below(instrument, cutoff):
    defn = get(instrument)
    below = score(defn, answers(defn, values_for_total(defn, cutoff - 1)))
    at = score(defn, answers(defn, values_for_total(defn, cutoff)))
    assert below.flags["positive_screen"] is False
    assert at.flags["positive_screen"] is True


def test_a_positive_phq2_makes_the_phq9_due_and_a_negative_does_not():
    assert score(get("phq-2"), answers("phq-2", [2, 1])).flags["next"] == "phq-9"
    assert "next" not in score(get("phq-2"), answers("phq-2", [1, 1])).flags
    assert score(get("gad-2"), answers("gad-2", [3, 0])).flags["next"] == "gad-7"


@pytest.mark.parametrize(
    ("sex", "total", "band"),
    [
        ("male", 3, "negative"),
        ("male", 4, "positive"),
        ("female", 2, "negative"),
        ("female", 3, "positive"),
        (None, 2, "negative"),
        (None, 3, "positive-if-female"),
        (None, 4, "positive"),
        ("male", 12, "positive"),
        ("female", 0, "negative"),
    ],
)
def test_audit_c_uses_the_published_threshold_for_each_sex(sex, total, band):
    defn = get("audit-c")
    result = score(defn, answers(defn, values_for_total(defn, total)), sex=sex)
    assert (result.total, result.band) == (total, band)
    assert result.flags["sex"] == (sex or "not recorded")


def test_audit_c_notes_when_every_point_comes_from_question_1():
    only_q1 = score(get("audit-c"), answers("audit-c", [3, 0, 0]), sex="male")
    mixed = score(get("audit-c"), answers("audit-c", [2, 1, 0]), sex="male")
    assert "recommended limits" in only_q1.flags["q1_only"]
    assert "q1_only" not in mixed.flags


def test_audit_c_reads_loinc_answer_codes_per_question():
    result = score(
        get("audit-c"),
        {"/68518-0": "LA18929-2", "/68519-8": "LA18932-6", "/68520-6": "LA18934-2"},
        sex="female",
    )
    assert result.item_values == {"/68518-0": 4, "/68519-8": 4, "/68520-6": 4}
    assert result.total == 12


def test_who5_gives_the_percentage_score_as_raw_times_four():
    result = score(get("who-5"), answers("who-5", [5, 5, 5, 5, 3]))
    assert (result.total, result.subscores["percent"]) == (23, 92)


@pytest.mark.parametrize(
    ("burden", "band"),
    [
        (0, "burden-0-2"),
        (2, "burden-0-2"),
        (3, "burden-3-4"),
        (4, "burden-3-4"),
        (5, "burden-5-6"),
        (6, "burden-5-6"),
    ],
)
def test_fibser_bands_on_the_burden_item_alone(burden, band):
    result = score(get("fibser"), {"frequency": 6, "intensity": 6, "burden": burden})
    assert result.scored and result.band == band
    assert result.total is None  # FIBSER publishes no total
    assert result.subscores == {"frequency": 6, "intensity": 6, "burden": burden}


@pytest.mark.parametrize("bad", [7, -1, "3.5", "three", True])
def test_fibser_refuses_values_out_of_range_naming_the_item(bad):
    with pytest.raises(AnswerError) as caught:
        score(get("fibser"), {"frequency": 1, "intensity": 1, "burden": bad})
    assert caught.value.field == "burden"
    assert "0 to 6" in str(caught.value)


def test_an_incomplete_form_is_not_scored_and_nothing_is_guessed():
    result = score(get("phq-9"), {k: v for k, v in phq9([3] * 9).items() if k != "/44254-1"})
    assert not result.scored
    assert (result.total, result.band) == (None, "")
    assert result.missing == ("/44254-1",)
    assert result.item_values["/44250-9"] == 3
    assert "question 4" in result.flags["not_scored"]


def test_the_unscored_difficulty_item_is_optional_and_not_in_the_total():
    base = phq9([1] * 9)
    assert score(get("phq-9"), base).total == 9
    with_difficulty = score(get("phq-9"), {**base, "/69722-7": "LA6574-3"})
    assert with_difficulty.total == 9
    assert with_difficulty.answers["/69722-7"].display == "Extremely difficult"


def test_an_empty_answer_is_unanswered_not_zero():
    result = score(get("phq-2"), {"/44250-9": "LA6571-9", "/44255-8": ""})
    assert not result.scored and result.missing == ("/44255-8",)


def test_codes_not_in_the_instrument_and_unknown_questions_are_refused_each_by_name():
    with pytest.raises(AnswerError) as caught:
        score(get("phq-9"), {**phq9([0] * 9), "/44250-9": "LA9999-9", "/12345-6": "LA6568-5"})
    assert dict(caught.value.errors).keys() == {"/44250-9", "/12345-6"}


def test_the_gad7_quirk_more_days_than_not_means_2_on_item_2_only():
    values = answers("gad-7", [0] * 7)
    quirk = score(get("gad-7"), {**values, "/68509-9": "LA18938-3"})
    assert quirk.item_values["/68509-9"] == 2 and quirk.total == 2
    assert quirk.answers["/68509-9"].display == "More than half the days"
    with pytest.raises(AnswerError):
        score(get("gad-7"), {**values, "/69725-0": "LA18938-3"})


def test_phq9_diagnostic_algorithm_is_reported_beside_the_total():
    major = score(get("phq-9"), phq9([2, 2, 2, 2, 2, 0, 0, 0, 0]))
    other = score(get("phq-9"), phq9([2, 0, 2, 0, 0, 0, 0, 0, 1]))
    none = score(get("phq-9"), phq9([1, 1, 3, 3, 3, 3, 3, 3, 0]))
    assert major.flags["depressive_syndrome"] == "major depressive syndrome"
    assert other.flags["depressive_syndrome"] == "other depressive syndrome"
    assert none.flags["depressive_syndrome"] == "criteria not met"


def test_phq9_carries_the_phq2_subscore_and_gad7_the_gad2():
    assert score(get("phq-9"), phq9([3, 2, 0, 0, 0, 0, 0, 0, 0])).subscores == {"phq2": 5}
    assert score(get("gad-7"), answers("gad-7", [1, 3, 0, 0, 0, 0, 0])).subscores == {"gad2": 4}


# --- the safety rule ---------------------------------------------------------------------------


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_phq9_item9_of_1_or_more_triggers_the_safety_rule_with_its_reason(item9):
    result = score(get("phq-9"), phq9([0] * 8 + [item9]))
    assert result.safety.triggered
    assert result.safety.rule_ids == ("phq9-item9",)
    assert "item 9" in result.safety.reasons[0]
    assert result.flags["item9"] == item9


def test_phq9_item9_of_0_does_not_trigger_and_is_never_called_safe():
    result = score(get("phq-9"), phq9([3] * 8 + [0]))
    assert not result.safety.triggered
    assert result.flags["item9"] == 0
    assert "does not rule out risk" in result.safety.note
    words = " ".join([result.safety.note, *result.safety.reasons, result.band_label]).lower()
    assert "safe" not in words and "no risk" not in words


def test_item9_counts_even_when_the_form_is_incomplete():
    partial = {"/44260-8": "LA6569-3", "/44250-9": "LA6568-5"}
    result = score(get("phq-9"), partial)
    assert not result.scored
    assert result.safety.triggered


def test_an_unanswered_item9_does_not_trigger_but_says_risk_is_not_ruled_out():
    result = score(get("phq-9"), {"/44250-9": "LA6568-5"})
    assert not result.safety.triggered
    assert result.flags["item9"] is None
    assert "not answered" in result.safety.note


YES, NO = "LA33-6", "LA32-8"
Q1, Q2, Q3, Q4, Q5, Q6, Q6B = (
    "/93246-7",
    "/93247-5",
    "/93248-3",
    "/93249-1",
    "/93250-9",
    "/93267-3",
    "/93269-9",
)


@pytest.mark.parametrize(
    ("given", "band", "scored"),
    [
        ({Q1: NO, Q2: NO, Q6: NO}, "none-endorsed", True),
        ({Q1: YES, Q2: NO, Q6: NO}, "low", True),
        ({Q1: NO, Q2: YES, Q3: NO, Q4: NO, Q5: NO, Q6: NO}, "low", True),
        ({Q1: YES, Q2: YES, Q3: YES, Q4: NO, Q5: NO, Q6: NO}, "moderate", True),
        ({Q1: YES, Q2: YES, Q3: YES, Q4: YES, Q5: NO, Q6: NO}, "high", True),
        ({Q1: YES, Q2: YES, Q3: NO, Q4: NO, Q5: YES, Q6: NO}, "high", True),
        ({Q1: NO, Q2: NO, Q6: YES, Q6B: NO}, "moderate", True),
        ({Q1: NO, Q2: NO, Q6: YES, Q6B: YES}, "high", True),
        ({Q1: YES, Q2: YES, Q6: NO}, "low", False),  # Q2 yes asks Q3–5: not all there
        ({Q1: NO, Q2: NO, Q6: YES}, "moderate", False),  # Q6 yes asks 6b
        ({Q1: NO, Q2: NO}, "", False),
    ],
)
def test_the_cssrs_screener_follows_its_skip_logic_and_triage(given, band, scored):
    result = score(get("c-ssrs-screener"), given)
    assert result.scored is scored
    if scored:
        assert result.band == band
    else:
        assert (result.band, result.total) == ("", None)
        assert result.flags.get("at_least") == (band or None)
    any_yes = YES in given.values()
    assert result.safety.triggered is any_yes


def test_a_cssrs_question_answered_though_skipped_still_counts():
    result = score(get("c-ssrs-screener"), {Q1: NO, Q2: NO, Q4: YES, Q6: NO})
    assert result.band == "high"
    assert result.flags["answered_though_skipped"] == [Q4]
    assert result.safety.triggered


def test_a_cssrs_screen_with_no_yes_is_not_described_as_without_risk():
    result = score(get("c-ssrs-screener"), {Q1: NO, Q2: NO, Q6: NO})
    assert not result.safety.triggered
    assert "does not rule out risk" in result.band_label
    assert "does not rule out risk" in result.safety.note


def test_instruments_without_a_safety_rule_never_trigger_it():
    assert not score(get("gad-7"), answers("gad-7", [3] * 7)).safety.triggered
