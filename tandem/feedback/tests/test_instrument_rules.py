"""The visit-feedback instrument as data, and the alert rules at their boundaries."""

from __future__ import annotations

import json

import pytest

from tandem.feedback import rules
from tandem.feedback.instrument import DATA, RATING_IDS, TEXT_IDS, as_fhir_questionnaire, visit_feedback


def test_the_instrument_has_four_ratings_from_0_to_10_and_three_free_text_items():
    instrument = visit_feedback()
    assert [i.link_id for i in instrument.ratings] == list(RATING_IDS)
    assert [i.link_id for i in instrument.texts] == list(TEXT_IDS)
    for item in instrument.ratings:
        assert (item.min, item.max) == (0, 10)
        assert item.anchor(0) and item.anchor(10)
    assert instrument.item("heard").text == "I felt heard and understood"
    assert instrument.item("overall").text == "Overall, this visit was…"


def test_the_instrument_cites_what_it_is_modelled_on_without_claiming_the_licensed_wording():
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    assert raw["id"] and raw["version"] and raw["title"]
    assert "Session Rating Scale" in raw["modelled_on"]["idea"]
    assert (
        "not reproduced" in raw["modelled_on"]["licence_note"]
        or "none of its wording" in (raw["modelled_on"]["licence_note"])
    )


def test_it_is_served_as_a_fhir_questionnaire():
    q = as_fhir_questionnaire()
    assert q["resourceType"] == "Questionnaire"
    assert q["version"] == visit_feedback().version
    heard = q["item"][0]
    assert heard["linkId"] == "heard" and heard["type"] == "integer"
    assert {e["valueInteger"] for e in heard["extension"]} == {0, 10}
    assert q["item"][-1]["type"] == "text"


def ids(findings):
    return [f.rule_id for f in findings]


@pytest.mark.parametrize(
    ("overall", "fires"), [(rules.LOW_OVERALL, True), (rules.LOW_OVERALL + 1, False), (0, True)]
)
def test_a_low_overall_rating_fires_at_its_threshold(overall, fires):
    findings = rules.evaluate({"heard": 9, "goals": 9, "approach": 9, "overall": overall}, [])
    assert ("feedback.low" in ids(findings)) is fires


@pytest.mark.parametrize("item", ["heard", "goals", "approach"])
@pytest.mark.parametrize(("value", "fires"), [(rules.LOW_ITEM, True), (rules.LOW_ITEM + 1, False)])
def test_any_low_item_fires_at_its_threshold(item, value, fires):
    ratings = {"heard": 9, "goals": 9, "approach": 9, "overall": 9, item: value}
    findings = rules.evaluate(ratings, [], labels={item: "Label"})
    assert ("feedback.low" in ids(findings)) is fires
    if fires:
        assert "Label 3" in findings[0].reason


def test_the_thresholds_are_the_documented_ones():
    assert (rules.LOW_OVERALL, rules.LOW_ITEM, rules.DROP_POINTS, rules.DROP_WINDOW) == (5, 3, 3, 3)


@pytest.mark.parametrize(
    ("previous", "overall", "fires"),
    [
        ([9, 9, 9], 6, True),  # exactly 3 below
        ([9, 9, 9], 7, False),  # 2 below
        ([9, 8, 8], 6, False),  # mean 8.33: 2.33 below
        ([10, 9, 8], 6, True),  # mean 9: 3 below
        ([9, 9, 9, 1], 6, True),  # only the previous three count
        ([1, 9, 9, 9], 6, False),  # the newest three (newest first) have mean 6.33
        ([9], 6, True),  # one earlier rating is enough
        ([], 0, False),  # nothing earlier: no drop (but low)
    ],
)
def test_a_drop_below_the_pairs_previous_three_fires_at_three_points(previous, overall, fires):
    findings = rules.evaluate({"heard": 9, "goals": 9, "approach": 9, "overall": overall}, previous)
    assert ("feedback.drop" in ids(findings)) is fires
