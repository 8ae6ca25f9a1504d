"""Adequacy of treatment for a patient who is not improving, at every threshold (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from tandem.measures.signals.adequacy import ClassPdc, Facts, Medication, judge

SERTRALINE = Medication("sertraline", 50.0, "mg", 50.0)
GOOD_PDC = ClassPdc("SSRI", True, 0.9, True)


def facts(**kw: Any) -> Facts:
    base: dict[str, Any] = {
        "medications": [SERTRALINE],
        "doses_taken": 28,
        "doses_scheduled": 28,
        "pdc": [GOOD_PDC],
        "in_therapy": True,
        "attended": 8,
        "countable": 8,
    }
    return Facts(**(base | kw))


def part(result, key):
    return next(p for p in result.parts if p.key == key)


def test_all_adequate_means_consider_a_change_of_treatment():
    result = judge(facts())
    assert result.verdict == "adequate"
    assert result.text().startswith("Not responding: consider a change of treatment")


@pytest.mark.parametrize(("daily", "status"), [(50.0, "adequate"), (49.0, "inadequate")])
def test_dose_at_the_usual_minimum_is_adequate(daily, status):
    result = judge(facts(medications=[Medication("sertraline", daily, "mg", 50.0)]))
    assert part(result, "dose").status == status
    assert result.verdict == status


def test_a_dose_without_a_known_range_is_unknown_and_says_so():
    result = judge(facts(medications=[Medication("free herbal", 10.0, "mg", None)]))
    assert part(result, "dose").status == "unknown"
    assert result.verdict == "unknown" and "no usual dose range is recorded for free herbal" in result.text()


@pytest.mark.parametrize(("taken", "status"), [(80, "adequate"), (79, "inadequate")])
def test_dose_adherence_threshold_is_80_percent(taken, status):
    result = judge(facts(doses_taken=taken, doses_scheduled=100))
    assert part(result, "dose_adherence").status == status
    assert result.verdict == status
    if status == "inadequate":
        assert result.text().startswith("Not yet adequately treated: address adherence or engagement first")
        assert "79 of 100 scheduled doses" in result.text()


@pytest.mark.parametrize(("adherent", "status"), [(True, "adequate"), (False, "inadequate")])
def test_pdc_below_80_percent_is_inadequate(adherent, status):
    result = judge(facts(pdc=[ClassPdc("SSRI", True, 0.8 if adherent else 0.79, adherent)]))
    assert part(result, "pdc").status == status


@pytest.mark.parametrize(
    ("attended", "countable", "status"), [(3, 4, "adequate"), (14, 19, "inadequate"), (2, 3, "unknown")]
)
def test_attendance_of_75_percent_once_4_sessions_count(attended, countable, status):
    result = judge(facts(attended=attended, countable=countable))
    assert part(result, "attendance").status == status
    assert result.verdict == status


def test_one_known_adherence_measure_is_enough_and_the_missing_one_is_named():
    result = judge(facts(doses_taken=None, doses_scheduled=None))
    assert result.verdict == "adequate"
    assert "judged from the other measure" in part(result, "dose_adherence").text


def test_no_adherence_data_at_all_is_unknown_never_guessed():
    result = judge(
        facts(
            doses_taken=None,
            doses_scheduled=None,
            pdc=[ClassPdc("SSRI", False, None, False, "fewer than 2 fills")],
        )
    )
    assert result.verdict == "unknown"
    text = result.text()
    assert "no doses were recorded" in text and "fewer than 2 fills" in text


def test_a_known_inadequacy_wins_over_missing_data_and_both_are_said():
    result = judge(facts(doses_taken=10, doses_scheduled=28, attended=1, countable=2))
    assert result.verdict == "inadequate"
    assert "Also missing" in result.text() and "only 2 therapy sessions" in result.text()


def test_therapy_only_and_medication_only_patients_are_judged_on_their_own_treatment():
    therapy_only = judge(facts(medications=[], pdc=[]))
    assert therapy_only.verdict == "adequate" and {p.key for p in therapy_only.parts} == {"attendance"}
    medication_only = judge(facts(in_therapy=False, attended=0, countable=0))
    assert medication_only.verdict == "adequate"
    assert part(medication_only, "attendance").status == "not_applicable"


def test_no_treatment_recorded_is_not_adequate_treatment():
    result = judge(Facts())
    assert result.verdict == "no_treatment"
    assert result.text() == "Not yet adequately treated: no medication or therapy is recorded."


def test_each_part_cites_its_source():
    result = judge(facts())
    cites = {p.key: p.cite for p in result.parts}
    assert (
        "PQA" in cites["pdc"]
        and "§E" in cites["dose"]
        and "not in clinical-facts.md §F" in cites["dose_adherence"]
    )
    assert "75 %" in cites["attendance"]
