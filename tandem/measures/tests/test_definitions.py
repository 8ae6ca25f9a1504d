"""The definitions: what the data says matches the reference, and a bad definition fails loudly."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from tandem.measures import definitions
from tandem.measures.definitions import (
    DefinitionError,
    check,
    get,
    load,
    loinc_check_digit_ok,
    parse,
    registry,
)
from tandem.medications.side_effects import DEFAULT_RULES, FIBSER_ITEMS, FIBSER_MAX

DATA = definitions.DATA


def raw(instrument: str) -> dict:
    return json.loads((DATA / f"{instrument}.json").read_text(encoding="utf-8"))


def test_every_instrument_of_the_issue_is_defined_and_cites_its_sources():
    found = registry()
    expected = {"phq-9", "phq-2", "gad-7", "gad-2", "c-ssrs-screener", "audit-c", "who-5", "asrm", "fibser"}
    assert expected <= set(found)
    for defn in found.values():
        assert defn.sources, defn.id
        assert defn.scoring.source, defn.id
        assert defn.scoring.prorate is None  # none of these publishes a proration rule


def test_the_visit_feedback_instrument_of_the_feedback_app_is_loaded_unscored():
    defn = get("tandem-visit-feedback")
    assert defn.scoring.method == "none"
    assert [i.link_id for i in defn.items][:4] == ["heard", "goals", "approach", "overall"]
    assert defn.item("heard").max == 10


def test_a_missing_visit_feedback_file_is_left_out(tmp_path):
    assert definitions.visit_feedback_definition(tmp_path / "absent.json") is None


@pytest.mark.parametrize(
    ("instrument", "panel", "total"),
    [
        ("phq-9", "44249-1", "44261-6"),
        ("phq-2", "55757-9", "55758-7"),
        ("gad-7", "69737-5", "70274-6"),
        ("audit-c", "72109-2", "75626-2"),
        ("c-ssrs-screener", "93373-9", None),
        ("gad-2", None, None),
    ],
)
def test_the_loinc_panel_and_total_codes_are_the_published_ones(instrument, panel, total):
    defn = get(instrument)
    assert defn.loinc_panel == panel
    assert (defn.loinc_total or {}).get("code") == total


def test_phq9_items_are_the_published_loinc_codes_in_order():
    assert [i.loinc for i in get("phq-9").items] == [
        "44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8", "69722-7",
    ]  # fmt: skip
    assert get("phq-9").item("/69722-7").scored is False


def test_the_loinc_check_digit():
    assert loinc_check_digit_ok("44249-1")
    assert loinc_check_digit_ok("93373-9")
    assert not loinc_check_digit_ok("93373-7")  # circulates in public repositories; wrong
    assert not loinc_check_digit_ok("71549-8")
    assert not loinc_check_digit_ok("LA6568-5")


def test_cssrs_wording_is_a_placeholder_that_says_so():
    defn = get("c-ssrs-screener")
    assert defn.wording == "placeholder" and not defn.self_administrable
    for item in defn.items:
        assert "Placeholder" in item.text and "not reproduced" in item.text


def test_gad7_never_offers_not_at_all_sure():
    displays = [o.display for o in get("gad-7").answer_lists["LL358-3"].options]
    assert "Not at all sure" not in displays and displays[0] == "Not at all"


def test_fibser_matches_the_medications_side_effect_form():
    """The same three items, keys, wording, range and burden thresholds as the side-effect form."""
    defn = get("fibser")
    assert [i.link_id for i in defn.items] == list(FIBSER_ITEMS)
    for item in defn.items:
        assert item.text == FIBSER_ITEMS[item.link_id]["question"]
        assert item.anchors == {str(k): v for k, v in FIBSER_ITEMS[item.link_id]["anchors"].items()}
        assert (item.min, item.max) == (0, FIBSER_MAX)
    starts = [b.min for b in defn.bands]
    assert starts == [0, DEFAULT_RULES.burden_address_from, DEFAULT_RULES.burden_high_from]


def test_the_plan_keys_are_the_plan_monitoring_instruments():
    from tandem.plans.schema import INSTRUMENTS

    keys = {d.plan_key for d in registry().values() if d.plan_key}
    assert keys == set(INSTRUMENTS) - {"pcl5"}  # PCL-5 is not part of this engine yet


# --- a bad definition fails loudly ---------------------------------------------------------------


def _broken(mutate) -> dict:
    data = copy.deepcopy(raw("phq-9"))
    mutate(data)
    return data


BROKEN = {
    "gap between bands": lambda d: d["bands"][1].update(min=6),
    "overlapping bands": lambda d: d["bands"][1].update(min=4),
    "bands short of the maximum": lambda d: d["bands"][-1].update(max=26),
    "wrong maximum": lambda d: d["scoring"].update(max=30),
    "bad LOINC check digit": lambda d: d.update(loinc_panel="44249-2"),
    "unknown answer list": lambda d: d["items"][0].update(answer_list="LL000-0"),
    "duplicate linkId": lambda d: d["items"][1].update(linkId="/44250-9"),
    "scored item missing from scoring": lambda d: d["scoring"]["items"].pop(),
    "duplicate option values": lambda d: d["answer_lists"]["LL358-3"]["options"][1].update(value=0),
    "safety rule on a missing item": lambda d: d["safety"][0].update(linkId="/00000-0"),
    "follow-up to an unknown instrument": lambda d: d["screen"].update(then="phq-99"),
    "subscore of a missing item": lambda d: d["subscores"][0].update(items=["/nope"]),
}


@pytest.mark.parametrize("problem", sorted(BROKEN))
def test_a_bad_definition_fails_the_check(problem):
    defn = parse(_broken(BROKEN[problem]))
    with pytest.raises(DefinitionError):
        check(defn, known_ids=registry())


def test_an_unknown_key_fails_parsing():
    with pytest.raises(DefinitionError, match="phq-9"):
        parse(_broken(lambda d: d.update(scoring_method="sum")))


def test_an_instrument_with_a_proration_rule_is_refused_until_the_engine_implements_it():
    with pytest.raises(DefinitionError):
        parse(_broken(lambda d: d["scoring"].update(prorate={"max_missing": 1})))


def _write(directory: Path, data: dict) -> None:
    (directory / f"{data['id']}.json").write_text(json.dumps(data), encoding="utf-8")


def test_loading_a_directory_with_a_bad_file_raises(tmp_path):
    for name in ("phq-9", "phq-2"):
        _write(tmp_path, raw(name))
    assert set(load(tmp_path, include_feedback=False)) == {"phq-9", "phq-2"}
    _write(tmp_path, _broken(BROKEN["gap between bands"]))
    with pytest.raises(DefinitionError, match="phq-9"):
        load(tmp_path, include_feedback=False)
    (tmp_path / "phq-9.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(DefinitionError, match="not valid JSON"):
        load(tmp_path, include_feedback=False)


def test_a_file_named_differently_from_its_id_is_refused(tmp_path):
    (tmp_path / "other.json").write_text(json.dumps(raw("phq-2")), encoding="utf-8")
    with pytest.raises(DefinitionError, match="file name"):
        load(tmp_path, include_feedback=False)


def test_start_up_stops_on_a_bad_definition(monkeypatch):
    from django.apps import apps

    def bad() -> dict:
        raise DefinitionError("phq-9: band 'mild' starts at 6, expected 5")

    monkeypatch.setattr(definitions, "registry", bad)
    with pytest.raises(ImproperlyConfigured, match="mild"):
        apps.get_app_config("measures").ready()
