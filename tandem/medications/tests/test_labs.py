"""Lab kinds and thresholds: every cut at its boundary, units, plausible ranges, sources, and the
overrides from settings. Pure: no database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from tandem.medications import catalog, labs
from tandem.medications.labs import LabInputError, evaluate


def level(kind: str, value: str, unit: str, **kwargs) -> str:
    return evaluate(kind, value, unit, **kwargs).level


# ---------------------------------------------------------------------------------------------
# Boundaries


def test_lithium_in_maintenance_is_normal_at_0_8_and_high_at_0_81():
    assert level("lithium_level", "0.8", "mmol/L") == "normal"
    flag = evaluate("lithium_level", "0.81", "mmol/L")
    assert flag.level == "high" and flag.rule_id == "lab-lithium-level-maintenance-high"
    assert "above 0.8 mmol/L" in flag.message and "maintenance" in flag.message
    assert flag.source.confidence == "secondary" and "lithium guideline" in flag.source.citation.lower()


def test_mEq_per_litre_is_the_same_number_as_mmol_per_litre_for_lithium():
    assert level("lithium_level", "0.81", "mEq/L") == "high"
    assert level("lithium_level", "0.8", "meq/l") == "normal"


def test_lithium_below_0_4_is_low_and_above_1_5_is_critical():
    assert level("lithium_level", "0.4", "mmol/L") == "normal"
    assert level("lithium_level", "0.39", "mmol/L") == "low"
    assert level("lithium_level", "1.5", "mmol/L") == "high"
    critical = evaluate("lithium_level", "1.51", "mmol/L")
    assert critical.level == "critical" and critical.source.confidence == "unverified"


def test_the_acute_mania_target_is_0_8_to_1_0():
    assert level("lithium_level", "0.9", "mmol/L", target="acute") == "normal"
    assert level("lithium_level", "1.0", "mmol/L", target="acute") == "normal"
    assert level("lithium_level", "1.01", "mmol/L", target="acute") == "high"
    assert level("lithium_level", "0.79", "mmol/L", target="acute") == "low"


def test_valproate_is_high_from_125_and_low_below_45_citing_bowden():
    assert level("valproate_level", "124.9", "µg/mL") == "normal"
    flag = evaluate("valproate_level", "125", "µg/mL")
    assert flag.level == "high" and "at or above 125" in flag.message
    assert flag.source.confidence == "verified" and "Bowden 1996" in flag.source.citation
    assert level("valproate_level", "45", "mg/L") == "normal"
    assert level("valproate_level", "44.9", "ug/ml") == "low"


def test_anc_is_low_below_1500_and_critical_below_500():
    assert level("anc", "1500", "/µL") == "normal"
    low = evaluate("anc", "1499", "/µL")
    assert low.level == "low" and low.source.confidence == "unverified"
    assert "clozapine" in low.source.citation.lower()
    assert level("anc", "500", "/µL") == "low"
    critical = evaluate("anc", "499", "cells/µL")
    assert critical.level == "critical" and critical.source.confidence == "verified"


def test_anc_in_10_9_per_litre_is_converted():
    assert level("anc", "1.5", "×10⁹/L") == "normal"
    assert level("anc", "1.49", "10^9/L") == "low"
    assert level("anc", "0.4", "x10^9/L") == "critical"


def test_weight_gain_of_5_percent_over_the_baseline_is_high_citing_ada_apa():
    assert level("weight", "83.9", "kg", baseline=("80", "kg")) == "normal"
    flag = evaluate("weight", "84", "kg", baseline=("80", "kg"))
    assert flag.level == "high" and "5% above the baseline of 80 kg" in flag.message
    assert "ADA/APA 2004" in flag.source.citation and flag.source.confidence == "verified"
    assert level("weight", "185.2", "lb", baseline=("80", "kg")) == "high"  # 84.0 kg


def test_without_a_baseline_weight_is_not_flagged():
    flag = evaluate("weight", "120", "kg")
    assert flag.level == "normal" and "no baseline" in flag.message


def test_general_reference_values_are_marked_unverified():
    flag = evaluate("tsh", "4.6", "mIU/L")
    assert flag.level == "high" and flag.source is labs.GENERAL and flag.source.confidence == "unverified"
    assert level("qtc", "501", "ms") == "critical"
    assert level("sodium", "124", "mmol/L") == "critical"


def test_a_kind_without_a_threshold_is_never_flagged():
    flag = evaluate("creatinine", "9", "mg/dL")
    assert flag.level == "normal" and "no alert threshold" in flag.message


def test_glucose_in_mmol_per_litre_is_compared_in_mg_per_decilitre():
    assert level("fasting_glucose", "6.9", "mmol/L") == "normal"
    assert level("fasting_glucose", "7.0", "mmol/L") == "high"


# ---------------------------------------------------------------------------------------------
# The data


def test_every_cut_and_note_names_a_source_and_every_kind_has_thresholds():
    for kind in labs.KINDS:
        rules = labs.thresholds(kind)
        for cut in rules.cuts:
            assert cut.source.citation and cut.source.confidence in catalog.CONFIDENCES, (kind, cut.key)
        for note in rules.notes:
            assert note.source.citation
        assert rules.target.reference


def test_every_monitoring_test_is_answered_by_known_lab_kinds():
    for test in labs.TESTS.values():
        assert test.lab_kinds and set(test.lab_kinds) <= set(labs.KINDS), test.key
    assert labs.tests_answered_by("anc") == ("anc", "cbc")


def test_critical_cuts_are_checked_before_the_others():
    for kind in labs.KINDS:
        levels = [c.level for c in labs.thresholds(kind).cuts]
        assert levels == sorted(levels, key=lambda lv: lv != "critical"), kind


# ---------------------------------------------------------------------------------------------
# Input


@pytest.mark.parametrize(
    ("kind", "value", "unit", "field", "words"),
    [
        ("lithium", "0.6", "mmol/L", "kind", "choose one"),
        ("lithium_level", "0.6", "mg/dL", "unit", "recorded in mmol/L, mEq/L"),
        ("lithium_level", "six", "mmol/L", "value", "enter a number"),
        ("lithium_level", "1,5", "mmol/L", "value", "no thousands separator"),
        ("lithium_level", "8", "mmol/L", "value", "from 0 to 5 mmol/L"),
        ("lithium_level", "-0.1", "mmol/L", "value", "not a plausible"),
        ("lithium_level", "0.6125", "mmol/L", "value", "3 decimal places"),
        ("lithium_level", "NaN", "mmol/L", "value", "enter a number"),
        ("anc", "150", "×10⁹/L", "value", "from 0 to 100"),
    ],
)
def test_bad_input_names_the_field(kind, value, unit, field, words):
    with pytest.raises(LabInputError) as caught:
        labs.clean(kind, value, unit)
    assert caught.value.field == field and words in str(caught.value)


def test_a_value_with_trailing_zeros_is_accepted():
    _, unit, amount = labs.clean("lithium_level", "0.8000", "mmol/L")
    assert amount == Decimal("0.8") and unit.name == "mmol/L"


def test_unit_spellings_are_recognised():
    assert labs.clean("valproate_level", "80", "mcg/mL")[1].name == "µg/mL"
    assert labs.clean("platelets", "200", "K/µL")[1].name == "×10³/µL"
    assert labs.clean("egfr", "90", "mL/min/1.73m2")[1].name == "mL/min/1.73 m²"


# ---------------------------------------------------------------------------------------------
# Overrides


@override_settings(LAB_THRESHOLDS={"lithium_level": {"high": "1.0", "source": "Riverside lithium protocol"}})
def test_a_threshold_changed_in_settings_is_used_and_cites_the_local_source():
    assert level("lithium_level", "0.9", "mmol/L") == "normal"
    flag = evaluate("lithium_level", "1.01", "mmol/L")
    assert flag.level == "high" and flag.cut.overridden
    assert flag.source.citation == "Local setting: Riverside lithium protocol"
    assert labs.thresholds("lithium_level").overridden
    assert level("lithium_level", "0.39", "mmol/L") == "low"  # the other cuts stay


@override_settings(LAB_THRESHOLDS={"tsh": {"high": None, "low": None}})
def test_a_threshold_set_to_none_is_switched_off():
    assert level("tsh", "40", "mIU/L") == "normal"


@override_settings(
    LAB_THRESHOLDS={
        "anc": {"low": "1200"},
        "organisations": {"riverside": {"anc": {"low": "1000"}, "lithium_level": {"target": "acute"}}},
    }
)
def test_an_organisation_override_comes_after_the_deployments():
    class Org:
        pk, slug = 7, "riverside"

    assert level("anc", "1100", "/µL") == "low"
    assert level("anc", "1100", "/µL", organisation=Org()) == "normal"
    assert labs.thresholds("lithium_level", Org()).target.key == "acute"
    assert labs.thresholds("lithium_level").target.key == "maintenance"


@pytest.mark.parametrize(
    "bad",
    [
        {"lithium": {"high": 1}},
        {"lithium_level": {"hi": 1}},
        {"lithium_level": {"high": "lots"}},
        {"lithium_level": {"target": "heroic"}},
        {"anc": {"gain": 5}},
        {"anc": ["low", 1000]},
    ],
)
def test_a_bad_override_fails_loudly(bad):
    with override_settings(LAB_THRESHOLDS=bad), pytest.raises(ImproperlyConfigured):
        labs.thresholds("lithium_level")
        labs.thresholds("anc")
