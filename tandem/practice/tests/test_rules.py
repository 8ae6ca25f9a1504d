"""Completion rate, the diary card's safety rule and the worksheet checks, at their boundaries."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tandem.practice.answers import clean, layout
from tandem.practice.rules import completion, diary_findings, periods
from tandem.practice.templates_data import ACTIVITY_SCHEDULE, DIARY_CARD, IPT, THOUGHT_RECORD, worksheet
from tandem.practice.tests.factories import THOUGHT_RECORD as TR_RAW

MON = date(2025, 3, 3)  # a Monday


def rate(freq: str, today: date, days: dict[date, int], *, n: int = 1, end=None, stopped=None):
    return completion(freq, n, MON, end, stopped, today, days)


# --- completion: daily ------------------------------------------------------------------------


def test_daily_nothing_is_expected_on_the_first_day_until_it_is_done():
    c = rate("daily", MON, {})
    assert (c.completed, c.expected, c.rate) == (0, 0, None)
    c = rate("daily", MON, {MON: 1})
    assert (c.completed, c.expected, c.percent) == (1, 1, 100)


def test_daily_a_day_that_ended_without_an_entry_counts_as_missed():
    c = rate("daily", MON + timedelta(days=1), {})
    assert (c.completed, c.expected, c.rate) == (0, 1, 0.0)


def test_daily_extra_entries_on_one_day_do_not_make_up_for_a_missed_day():
    c = rate("daily", MON + timedelta(days=2), {MON: 3})
    assert (c.completed, c.expected) == (1, 2)


def test_daily_stops_at_the_end_date_and_days_after_it_count_nothing():
    end = MON + timedelta(days=2)
    c = rate("daily", MON + timedelta(days=20), {MON: 1, end: 1, end + timedelta(days=1): 1}, end=end)
    assert (c.completed, c.expected) == (2, 3)


def test_daily_counts_to_the_day_it_was_stopped():
    stopped = MON + timedelta(days=1)
    c = rate("daily", MON + timedelta(days=10), {MON: 1}, stopped=stopped)
    assert (c.completed, c.expected) == (1, 2)


def test_nothing_is_expected_before_the_start():
    assert rate("daily", MON - timedelta(days=1), {}).expected == 0
    assert periods("weekly", 1, MON, None, None, MON - timedelta(days=1)) == []


# --- completion: n times a week and weekly ----------------------------------------------------


def test_times_a_week_the_week_in_progress_counts_only_what_is_done():
    today = MON + timedelta(days=6)  # the last day of the first week
    c = rate("times_per_week", today, {MON: 1, MON + timedelta(days=2): 1}, n=3)
    assert (c.completed, c.expected) == (2, 2)


def test_times_a_week_a_week_that_ended_counts_in_full():
    today = MON + timedelta(days=7)  # the first day of the second week
    c = rate("times_per_week", today, {MON: 1, MON + timedelta(days=2): 1}, n=3)
    assert (c.completed, c.expected) == (2, 3)
    assert c.percent == 67


def test_times_a_week_more_than_n_in_a_week_is_capped():
    today = MON + timedelta(days=7)
    c = rate("times_per_week", today, {MON + timedelta(days=k): 1 for k in range(7)}, n=3)
    assert (c.completed, c.expected) == (3, 3)


def test_a_last_week_cut_short_by_the_end_requires_a_share_rounded_up():
    end = MON + timedelta(days=9)  # three days into the second week
    found = periods("times_per_week", 3, MON, end, None, MON + timedelta(days=30))
    assert [p.required for p in found] == [3, 2]  # ceil(3 × 3 / 7) = 2
    assert found[-1].last == end


def test_weekly_is_once_a_week_from_the_start_day():
    found = periods("weekly", 5, MON + timedelta(days=2), None, None, MON + timedelta(days=16))
    assert [(p.first.weekday(), p.required) for p in found] == [(2, 1), (2, 1), (2, 1)]
    c = completion(
        "weekly",
        5,
        MON + timedelta(days=2),
        None,
        None,
        MON + timedelta(days=16),
        {MON + timedelta(days=3): 1},
    )
    assert (c.completed, c.expected) == (1, 2)


# --- completion: once, by a due date ----------------------------------------------------------


def test_once_is_expected_only_after_the_due_date():
    due = MON + timedelta(days=4)
    assert rate("once", due, {}, end=due).expected == 0
    c = rate("once", due + timedelta(days=1), {}, end=due)
    assert (c.completed, c.expected) == (0, 1)


def test_once_done_before_or_after_the_due_date_is_done():
    due = MON + timedelta(days=4)
    assert rate("once", MON + timedelta(days=1), {MON + timedelta(days=1): 1}, end=due).percent == 100
    assert rate("once", due + timedelta(days=5), {due + timedelta(days=3): 1}, end=due).percent == 100


def test_once_stopped_before_its_due_date_is_never_missed():
    due = MON + timedelta(days=4)
    c = rate("once", due + timedelta(days=10), {}, end=due, stopped=MON + timedelta(days=1))
    assert c.expected == 0


# --- the diary card's safety rule -------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "fires"),
    [
        ({"urge_self_harm": 3, "urge_suicide": 3}, False),
        ({"urge_self_harm": 4}, True),
        ({"urge_suicide": 4}, True),
        ({"urge_suicide": 5}, True),
        ({"urge_self_harm": 0, "acted_self_harm": True}, True),
        ({"urge_suicide": 0, "acted_suicide": True}, True),
        ({"acted_suicide": False, "acted_self_harm": False}, False),
        ({"urge_substance": 5, "acted_substance": True}, False),  # substance use: not this rule
        ({"urge_self_harm": None}, False),
    ],
)
def test_the_diary_rule_fires_at_4_of_5_or_when_acted_on(answers, fires):
    assert bool(diary_findings(answers)) is fires


def test_the_diary_rule_says_why():
    found = diary_findings({"urge_suicide": 4, "acted_self_harm": True})
    assert found == ["acted on the self-harm urge", "suicide urge 4 of 5 (alert at 4 or more)"]
    assert not any("safe" in f for f in found)


# --- worksheet checks -------------------------------------------------------------------------


def test_a_complete_thought_record_is_accepted_with_the_hot_thought_and_re_rating():
    answers, errors = clean(THOUGHT_RECORD, TR_RAW)
    assert errors == {}
    assert answers["emotions"] == [{"name": "Anxious", "rating": 80, "after": 40}]
    assert answers["thoughts"] == [{"text": "She is going to fire me", "hot": True}]
    assert answers["belief"] == 60


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("0", True),
        ("100", True),
        ("101", False),
        ("-1", False),
        ("50.5", False),
        ("lots", False),
        (" 7 ", True),
    ],
)
def test_ratings_0_to_100_are_checked_at_their_bounds(value, ok):
    _, errors = clean(THOUGHT_RECORD, {**TR_RAW, "emotions-0-rating": value, "belief": value})
    assert ("emotions-0-rating" in errors) is not ok
    assert ("belief" in errors) is not ok
    if not ok:
        assert "from 0 to 100" in errors["belief"]


def test_an_out_of_range_rating_names_the_number_and_the_range():
    _, errors = clean(THOUGHT_RECORD, {**TR_RAW, "belief": "150"})
    assert errors == {"belief": "150 is out of range: enter a whole number from 0 to 100"}


def test_the_hot_thought_must_be_marked_on_a_filled_row():
    raw = {k: v for k, v in TR_RAW.items() if k != "hot"}
    assert "hot" in clean(THOUGHT_RECORD, raw)[1]
    assert "hot" in clean(THOUGHT_RECORD, {**TR_RAW, "hot": "2"})[1]


def test_a_rating_without_its_emotion_is_refused_on_that_row():
    _, errors = clean(THOUGHT_RECORD, {**TR_RAW, "emotions-1-rating": "30"})
    assert "emotions-1-name" in errors
    _, errors = clean(THOUGHT_RECORD, {**TR_RAW, "emotions-2-after": "30"})
    assert "emotions-2-after" in errors


def test_the_diary_card_scales_are_0_to_5_and_skills_0_to_7():
    base = {"day": "2025-03-03"}
    assert clean(DIARY_CARD, {**base, "urge_suicide": "5", "skills": "7"})[1] == {}
    _, errors = clean(DIARY_CARD, {**base, "urge_suicide": "6", "skills": "8", "emo_joy": "6"})
    assert set(errors) == {"urge_suicide", "skills", "emo_joy"}
    assert "from 0 to 7" in errors["skills"]
    answers, _ = clean(DIARY_CARD, {**base, "acted_suicide": "yes", "acted_self_harm": "no"})
    assert answers["acted_suicide"] is True and answers["acted_self_harm"] is False


def test_the_activity_schedule_rates_mastery_and_pleasure_0_to_10():
    raw = {
        "activities-0-activity": "Walk",
        "activities-0-done": "yes",
        "activities-0-mastery": "10",
        "activities-0-pleasure": "0",
    }
    answers, errors = clean(ACTIVITY_SCHEDULE, raw)
    assert errors == {} and answers["activities"][0]["done"] is True
    _, errors = clean(ACTIVITY_SCHEDULE, {**raw, "activities-0-mastery": "11"})
    assert set(errors) == {"activities-0-mastery"}


def test_ipt_needs_one_of_the_four_problem_areas():
    raw = {"work": "Called my brother", "people-0-person": "Brother", "people-0-closeness": "inner"}
    assert clean(IPT, {**raw, "area": "role_transition"})[1] == {}
    assert "area" in clean(IPT, {**raw, "area": "other"})[1]
    assert "area" in clean(IPT, raw)[1]


def test_a_therapists_worksheet_asks_their_prompts():
    sheet = worksheet("Values", ["What matters?", "One step?"])
    answers, errors = clean(sheet, {"prompt_0": "Family"})
    assert errors == {} and answers == {"prompt_0": "Family", "prompt_1": None}
    assert "prompt_0" in clean(sheet, {})[1]


def test_the_form_layout_keeps_what_was_typed_and_shows_the_error_by_its_field():
    raw = {**TR_RAW, "belief": "150"}
    _, errors = clean(THOUGHT_RECORD, raw)
    widgets = [w for s in layout(THOUGHT_RECORD, raw, errors) for w in s["widgets"]]
    belief = next(w for w in widgets if w.get("name") == "belief")
    assert belief["value"] == "150" and "out of range" in belief["error"]
    rerate = next(w for w in widgets if w["kind"] == "rerate")
    assert rerate["rows"][0]["label"].startswith("Anxious")


def test_every_template_cites_its_source():
    for template in (THOUGHT_RECORD, DIARY_CARD, ACTIVITY_SCHEDULE, IPT):
        assert template.source and ("http" in template.source or "(" in template.source)
