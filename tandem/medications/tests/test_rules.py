"""Prescribing checks, pure: every rule at its boundaries and in both directions. No database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tandem.medications import catalog
from tandem.medications.catalog import Drug
from tandem.medications.rules import (
    RULES,
    SEVERITIES,
    ActiveRegimen,
    Finding,
    PatientFacts,
    ProposedRegimen,
    check,
)

TODAY = date(2026, 3, 2)
LONG_AGO = date(2025, 1, 6)


def on(
    key: str | Drug,
    dose: float | None = None,
    *,
    stopped_days_ago: int | None = None,
    end: date | None = None,
):
    drug = key if isinstance(key, Drug) else catalog.get(key)
    if stopped_days_ago is not None:
        end = TODAY - timedelta(days=stopped_days_ago)
    return ActiveRegimen(drug, dose, LONG_AGO, end)


def run(key: str | Drug, *current: ActiveRegimen, dose: float | None = None, change="start", age=40, **facts):
    drug = key if isinstance(key, Drug) else catalog.get(key)
    return check(ProposedRegimen(drug, dose, change), list(current), PatientFacts(age, **facts), TODAY)


def ids(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


def only(findings: list[Finding], rule_id: str) -> Finding:
    matching = [f for f in findings if f.rule_id == rule_id]
    assert len(matching) == 1, [f.rule_id for f in findings]
    return matching[0]


# --- MAOIs and serotonergic drugs -------------------------------------------------------------

SEROTONERGIC = sorted(d.key for d in catalog.all_drugs() if d.serotonergic)


@pytest.mark.parametrize("serotonergic", SEROTONERGIC)
def test_an_maoi_with_any_serotonergic_drug_is_contraindicated_in_both_directions(serotonergic):
    adding_maoi = only(run("phenelzine", on(serotonergic)), "maoi-serotonergic")
    adding_other = only(run(serotonergic, on("tranylcypromine")), "maoi-serotonergic")
    for finding in (adding_maoi, adding_other):
        assert finding.severity == "contraindicated" and finding.requires_override_reason
        assert "serotonin syndrome" in finding.message
    assert adding_maoi.drugs == ("phenelzine", serotonergic)
    assert adding_other.drugs == (serotonergic, "tranylcypromine")


def test_an_maoi_started_13_days_after_sertraline_stopped_is_flagged_and_14_days_is_not():
    finding = only(run("phenelzine", on("sertraline", stopped_days_ago=13)), "maoi-serotonergic-washout")
    assert finding.severity == "contraindicated"
    assert "stopped 13 days ago" in finding.message and "2026-03-03" in finding.message
    assert run("phenelzine", on("sertraline", stopped_days_ago=14)) == []


def test_an_maoi_34_days_after_fluoxetine_is_flagged_and_35_days_is_not():
    finding = only(run("tranylcypromine", on("fluoxetine", stopped_days_ago=34)), "maoi-serotonergic-washout")
    assert "35 drug-free days" in finding.message
    assert finding.sources[0].citation.startswith("Serotonergic drugs to flag with MAOIs")
    assert any("5 weeks after fluoxetine" in s.citation for s in finding.sources)
    assert run("tranylcypromine", on("fluoxetine", stopped_days_ago=35)) == []


def test_an_maoi_20_days_after_vortioxetine_is_flagged_and_21_days_is_not():
    assert "maoi-serotonergic-washout" in ids(run("phenelzine", on("vortioxetine", stopped_days_ago=20)))
    assert run("phenelzine", on("vortioxetine", stopped_days_ago=21)) == []


def test_a_serotonergic_drug_13_days_after_an_maoi_stopped_is_flagged_and_14_days_is_not():
    finding = only(
        run("sertraline", on("phenelzine", stopped_days_ago=13), age=40), "maoi-serotonergic-washout"
    )
    assert finding.drugs == ("sertraline", "phenelzine")
    assert "Phenelzine was stopped 13 days ago" in finding.message
    assert "maoi-serotonergic-washout" not in ids(run("sertraline", on("phenelzine", stopped_days_ago=14)))


def test_a_drug_stopped_today_has_had_no_drug_free_day():
    finding = only(run("phenelzine", on("sertraline", stopped_days_ago=0)), "maoi-serotonergic-washout")
    assert "stopped 0 days ago" in finding.message


def test_a_planned_stop_after_today_still_counts_as_taking_the_drug():
    tapering = on("sertraline", end=TODAY + timedelta(days=7))
    assert ids(run("phenelzine", tapering, change="switch")) == {"maoi-serotonergic"}


def test_short_acting_serotonergic_drugs_claim_no_washout_before_an_maoi():
    assert run("phenelzine", on("tramadol", stopped_days_ago=1)) == []


def test_the_maoi_washout_still_applies_before_a_short_acting_serotonergic_drug():
    assert "maoi-serotonergic-washout" in ids(run("tramadol", on("phenelzine", stopped_days_ago=3)))


def test_an_mao_b_inhibitor_with_a_serotonergic_drug_is_major_in_both_directions():
    for findings in (run("rasagiline", on("sertraline")), run("sertraline", on("selegiline"), age=40)):
        finding = only(findings, "mao-b-serotonergic")
        assert finding.severity == "major" and finding.requires_override_reason


def test_an_mao_b_inhibitor_13_days_after_sertraline_is_flagged_and_14_is_not():
    assert "mao-b-serotonergic-washout" in ids(run("rasagiline", on("sertraline", stopped_days_ago=13)))
    assert run("rasagiline", on("sertraline", stopped_days_ago=14)) == []


@pytest.mark.parametrize("inhibitor", ["linezolid", "methylene_blue"])
def test_linezolid_and_methylene_blue_with_a_serotonergic_drug_are_major_in_both_directions(inhibitor):
    adding_inhibitor = only(run(inhibitor, on("escitalopram")), "linezolid-serotonergic")
    adding_ssri = only(run("escitalopram", on(inhibitor)), "linezolid-serotonergic")
    assert adding_inhibitor.severity == adding_ssri.severity == "major"
    assert "at least 2 weeks before" in adding_inhibitor.message
    assert "while" in adding_ssri.message
    assert adding_inhibitor.source.confidence == "secondary"
    assert "maoi-serotonergic" not in ids(run(inhibitor, on("escitalopram")))


@pytest.mark.parametrize(("stopped", "flagged", "clear"), [("sertraline", 13, 14), ("fluoxetine", 34, 35)])
def test_linezolid_soon_after_a_serotonergic_antidepressant_is_flagged_until_its_washout_ends(
    stopped, flagged, clear
):
    assert ids(run("linezolid", on(stopped, stopped_days_ago=flagged))) == {"linezolid-serotonergic-washout"}
    assert run("linezolid", on(stopped, stopped_days_ago=clear)) == []


def test_a_serotonergic_drug_the_day_after_linezolid_claims_no_washout():
    assert run("sertraline", on("linezolid", stopped_days_ago=1)) == []


@pytest.mark.parametrize("stimulant", ["amphetamine", "methylphenidate", "lisdexamfetamine"])
def test_an_maoi_with_a_stimulant_is_major_in_both_directions(stimulant):
    assert only(run("phenelzine", on(stimulant)), "maoi-pressor").severity == "major"
    assert only(run(stimulant, on("phenelzine")), "maoi-pressor").message.count("hypertensive crisis") == 1


def test_a_stimulant_10_days_after_an_maoi_stopped_is_flagged():
    assert ids(run("amphetamine", on("tranylcypromine", stopped_days_ago=10))) == {"maoi-pressor-washout"}
    assert run("amphetamine", on("tranylcypromine", stopped_days_ago=14)) == []


# --- Lithium ---------------------------------------------------------------------------------

LITHIUM_PARTNERS = [
    *[(k, "lithium-nsaid") for k in ("ibuprofen", "naproxen", "diclofenac", "celecoxib")],
    *[(k, "lithium-ace-inhibitor") for k in ("lisinopril", "enalapril", "ramipril")],
    *[(k, "lithium-thiazide") for k in ("hydrochlorothiazide", "chlorthalidone")],
]


@pytest.mark.parametrize(("partner", "rule_id"), LITHIUM_PARTNERS)
def test_lithium_with_an_nsaid_ace_inhibitor_or_thiazide_is_major_in_both_directions(partner, rule_id):
    adding_partner = only(run(partner, on("lithium", 900)), rule_id)
    adding_lithium = only(run("lithium", on(partner), dose=900), rule_id)
    for finding in (adding_partner, adding_lithium):
        assert finding.severity == "major" and finding.requires_override_reason
        assert "lithium toxicity" in finding.message
        assert finding.source.url and "duckegg" in finding.source.url


def test_an_organisations_lithium_product_is_checked_through_its_ingredient():
    solution = Drug(
        key="org:3", name="lithium citrate solution", classes=("mood_stabiliser",), ingredients=("lithium",)
    )
    assert "lithium-nsaid" in ids(run("ibuprofen", on(solution)))


def test_lithium_with_a_stopped_nsaid_is_not_flagged():
    assert "lithium-nsaid" not in ids(run("lithium", on("ibuprofen", stopped_days_ago=1), dose=900))


# --- Benzodiazepines and opioids -------------------------------------------------------------

BENZODIAZEPINES = ["lorazepam", "alprazolam", "clonazepam", "diazepam"]
OPIOIDS = sorted(d.key for d in catalog.all_drugs() if "opioid" in d.classes)


@pytest.mark.parametrize("benzodiazepine", BENZODIAZEPINES)
@pytest.mark.parametrize("opioid", OPIOIDS)
def test_a_benzodiazepine_with_an_opioid_is_major_in_both_directions(benzodiazepine, opioid):
    for finding in (
        only(run(benzodiazepine, on(opioid)), "benzodiazepine-opioid"),
        only(run(opioid, on(benzodiazepine)), "benzodiazepine-opioid"),
    ):
        assert finding.severity == "major" and finding.requires_override_reason
        assert "respiratory depression" in finding.message
        assert finding.source.confidence == "verified"


# --- Valproate, lamotrigine, carbamazepine ---------------------------------------------------


@pytest.mark.parametrize("valproate", ["valproic_acid", "divalproex"])
def test_valproate_with_lamotrigine_is_major_in_both_directions_with_advice_for_each(valproate):
    adding_lamotrigine = only(run("lamotrigine", on(valproate), dose=12.5), "valproate-lamotrigine")
    adding_valproate = only(run(valproate, on("lamotrigine", 200)), "valproate-lamotrigine")
    assert "25 mg every other day" in adding_lamotrigine.message
    assert "target is 100 mg/day" in adding_valproate.message
    assert adding_lamotrigine.severity == adding_valproate.severity == "major"
    assert adding_lamotrigine.sources[0].confidence == "verified"


@pytest.mark.parametrize("target", ["lamotrigine", "valproic_acid", "divalproex"])
def test_carbamazepine_lowering_levels_is_moderate_and_unverified_in_both_directions(target):
    for finding in (
        only(run("carbamazepine", on(target), hla_b1502_positive=False), "enzyme-inducer-levels"),
        only(run(target, on("carbamazepine"), dose=50), "enzyme-inducer-levels"),
    ):
        assert finding.severity == "moderate" and not finding.requires_override_reason
        assert finding.confidence == "unverified"


def test_an_organisations_enzyme_inducer_is_checked_through_its_flag():
    phenytoin = Drug(key="org:9", name="phenytoin", classes=("anticonvulsant",), enzyme_inducer=True)
    assert "enzyme-inducer-levels" in ids(run("lamotrigine", on(phenytoin), dose=50))


# --- Duplicates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "label"),
    [
        ("sertraline", "escitalopram", "SSRIs"),
        ("venlafaxine", "duloxetine", "SNRIs"),
        ("amitriptyline", "nortriptyline", "tricyclic antidepressants"),
        ("olanzapine", "haloperidol", "antipsychotics"),
        ("quetiapine", "risperidone", "antipsychotics"),
        ("lorazepam", "clonazepam", "benzodiazepines"),
        ("methylphenidate", "amphetamine", "stimulants"),
        ("ibuprofen", "naproxen", "NSAIDs"),
    ],
)
def test_two_of_a_class_are_a_duplicate_but_a_switch_is_not(first, second, label):
    finding = only(run(second, on(first), age=40), "duplicate-class")
    assert finding.title.startswith(f"Two {label}")
    assert finding.severity == "moderate" and finding.requires_override_reason
    assert finding.confidence == "unverified"
    assert "duplicate-class" not in ids(run(second, on(first), change="switch", age=40))
    assert "duplicate-class" not in ids(
        run(second, on(first, end=TODAY + timedelta(days=14)), change="switch")
    )


def test_two_maois_are_a_duplicate():
    assert "duplicate-class" in ids(run("phenelzine", on("tranylcypromine")))


def test_drugs_of_different_classes_are_not_duplicates():
    assert "duplicate-class" not in ids(run("duloxetine", on("sertraline")))
    assert "duplicate-class" not in ids(run("lithium", on("lamotrigine"), dose=900))


def test_a_stopped_drug_of_the_same_class_is_not_a_duplicate():
    assert "duplicate-class" not in ids(run("sertraline", on("escitalopram", stopped_days_ago=1)))


def test_valproic_acid_with_divalproex_is_the_same_medicine_twice():
    finding = only(run("divalproex", on("valproic_acid")), "duplicate-ingredient")
    assert "valproate" in finding.message


def test_starting_a_drug_already_taken_is_a_duplicate_but_changing_its_dose_is_not():
    assert "duplicate-ingredient" in ids(run("sertraline", on("sertraline", 50), dose=50))
    for change in ("increase", "decrease"):
        assert run("sertraline", on("sertraline", 50), dose=100, change=change) == []


# --- Doses -----------------------------------------------------------------------------------


def test_citalopram_40_mg_at_60_is_allowed_and_41_mg_is_major():
    assert run("citalopram", dose=40, age=60) == []
    finding = only(run("citalopram", dose=41, age=60), "citalopram-max-40")
    assert finding.severity == "major" and finding.requires_override_reason
    assert finding.confidence == "unverified"


def test_citalopram_20_mg_at_61_is_allowed_and_21_mg_is_major():
    assert run("citalopram", dose=20, age=61) == []
    finding = only(run("citalopram", dose=21, age=61), "citalopram-max-20")
    assert "over 60" in finding.message and finding.severity == "major"


def test_citalopram_over_both_caps_reports_only_the_stricter_one():
    assert ids(run("citalopram", dose=60, age=70)) == {"citalopram-max-20"}


@pytest.mark.parametrize(
    ("facts", "reason"),
    [({"cyp2c19_poor_metaboliser": True}, "CYP2C19"), ({"hepatic_impairment": True}, "hepatic impairment")],
)
def test_citalopram_is_capped_at_20_mg_for_poor_metabolisers_and_hepatic_impairment(facts, reason):
    assert run("citalopram", dose=20, **facts) == []
    assert reason in only(run("citalopram", dose=30, **facts), "citalopram-max-20").message


def test_citalopram_is_capped_at_20_mg_with_cimetidine():
    cimetidine = Drug(key="org:1", name="cimetidine", classes=("other",), ingredients=("cimetidine",))
    assert "cimetidine" in only(run("citalopram", on(cimetidine), dose=30), "citalopram-max-20").message


def test_a_dose_above_the_usual_range_is_a_moderate_hint():
    assert run("sertraline", dose=200) == []
    finding = only(run("sertraline", dose=201), "dose-above-range")
    assert finding.severity == "moderate" and not finding.requires_override_reason
    assert "50–200 mg/day" in finding.message and finding.confidence == "unverified"
    assert "above the usual adult range of 50 mg/day" in run("desvenlafaxine", dose=100)[0].message


def test_no_dose_hint_without_a_dose_a_range_or_mg():
    assert run("sertraline", dose=None) == []
    assert "dose-above-range" not in ids(run("valproic_acid", dose=5000))  # dosed to its level
    assert "dose-above-range" not in ids(run("fentanyl", dose=1000))


# --- Antidepressants under 25 ----------------------------------------------------------------


@pytest.mark.parametrize("change", ["start", "increase", "decrease", "switch", "restart"])
def test_an_antidepressant_change_at_24_asks_for_closer_monitoring_and_at_25_does_not(change):
    finding = only(run("sertraline", dose=50, change=change, age=24), "antidepressant-under-25")
    assert finding.severity == "moderate" and not finding.requires_override_reason
    assert "Antidepressants increased the risk of suicidal thoughts" in finding.message
    assert finding.source.confidence == "verified"
    assert run("sertraline", dose=50, change=change, age=25) == []


def test_a_non_antidepressant_at_18_needs_no_antidepressant_monitoring():
    assert run("lorazepam", dose=1, age=18) == []


# --- HLA-B*1502 ------------------------------------------------------------------------------


def test_carbamazepine_prompts_for_hla_b1502_when_it_is_not_recorded():
    finding = only(run("carbamazepine", dose=400), "hla-b1502-carbamazepine")
    assert finding.severity == "moderate" and "Screen" in finding.message


def test_carbamazepine_in_an_hla_b1502_carrier_is_major():
    finding = only(run("carbamazepine", dose=400, hla_b1502_positive=True), "hla-b1502-carbamazepine")
    assert finding.severity == "major" and finding.requires_override_reason


def test_carbamazepine_in_a_non_carrier_or_a_dose_change_raises_no_hla_prompt():
    assert run("carbamazepine", dose=400, hla_b1502_positive=False) == []
    assert run("carbamazepine", on("carbamazepine", 400), dose=600, change="increase") == []


def test_lamotrigine_in_an_hla_b1502_carrier_is_major_but_untested_is_not_prompted():
    assert "hla-b1502-lamotrigine" in ids(run("lamotrigine", dose=25, hla_b1502_positive=True))
    assert run("lamotrigine", dose=25) == []


def test_oxcarbazepine_has_no_hla_rule_without_a_source():
    assert run("oxcarbazepine", dose=600) == []


# --- Lamotrigine starts and restarts ---------------------------------------------------------


def test_lamotrigine_starts_at_25_mg_alone_and_above_it_is_major():
    assert run("lamotrigine", dose=25) == []
    finding = only(run("lamotrigine", dose=50), "lamotrigine-initial-dose")
    assert finding.severity == "major" and "25 mg a day for 14 days" in finding.message


def test_lamotrigine_with_valproate_starts_at_25_mg_every_other_day():
    assert ids(run("lamotrigine", on("divalproex", 1000), dose=12.5)) == {"valproate-lamotrigine"}
    assert "lamotrigine-initial-dose" in ids(run("lamotrigine", on("divalproex", 1000), dose=25))


def test_lamotrigine_with_an_enzyme_inducer_starts_at_50_mg():
    assert ids(run("lamotrigine", on("carbamazepine", 800), dose=50)) == {"enzyme-inducer-levels"}
    assert "lamotrigine-initial-dose" in ids(run("lamotrigine", on("carbamazepine", 800), dose=51))


def test_lamotrigine_without_a_dose_is_a_reminder():
    assert only(run("lamotrigine"), "lamotrigine-initial-dose").severity == "info"


def test_lamotrigine_may_resume_after_5_days_off_but_must_be_retitrated_after_6():
    assert run("lamotrigine", on("lamotrigine", 200, stopped_days_ago=5), dose=200, change="restart") == []
    finding = only(
        run("lamotrigine", on("lamotrigine", 200, stopped_days_ago=6), dose=200, change="restart"),
        "lamotrigine-retitrate",
    )
    assert "stopped 6 days ago" in finding.message and finding.severity == "major"


def test_a_lamotrigine_restart_without_a_recorded_stop_is_retitrated():
    assert "lamotrigine-retitrate" in ids(run("lamotrigine", dose=100, change="restart"))


def test_a_lamotrigine_dose_increase_is_not_a_start():
    assert run("lamotrigine", on("lamotrigine", 25), dose=50, change="increase") == []


# --- Monitoring prompts ----------------------------------------------------------------------


def test_a_lithium_start_asks_for_a_level_in_5_days_and_baseline_tests():
    finding = only(run("lithium", dose=900), "lithium-level")
    assert finding.severity == "info" and finding.due == TODAY + timedelta(days=5)
    assert "12 hours after the last dose" in finding.message and "thyroid" in finding.message


def test_a_lithium_dose_change_asks_for_a_level_without_the_baseline():
    finding = only(run("lithium", on("lithium", 900), dose=1200, change="increase"), "lithium-level")
    assert finding.due == date(2026, 3, 7) and "Before starting" not in finding.message


def test_a_clozapine_start_asks_for_anc_and_metabolic_monitoring():
    findings = run("clozapine", dose=300)
    anc = only(findings, "anc-monitoring")
    assert anc.due == TODAY and "severe neutropenia" in anc.message
    assert anc.confidence == "unverified"  # the schedule is not confirmed against the current label
    assert "metabolic-monitoring" in ids(findings)
    assert run("clozapine", on("clozapine", 300), dose=400, change="increase") == []


@pytest.mark.parametrize(
    ("key", "rule_id"),
    [("olanzapine", "metabolic-monitoring"), ("ziprasidone", "ecg-baseline"), ("iloperidone", "ecg-baseline"),
     ("valproic_acid", "liver-tests"), ("divalproex", "liver-tests")],
)  # fmt: skip
def test_starting_a_drug_with_a_monitoring_need_prompts_for_it(key, rule_id):
    finding = only(run(key, dose=None), rule_id)
    assert finding.severity == "info" and finding.sources


# --- Free text and general behaviour ---------------------------------------------------------


def test_a_free_text_medicine_says_it_was_not_checked():
    finding = only(run(catalog.free_text("Grandma's tonic"), on("phenelzine")), "unchecked-medicine")
    assert finding.severity == "info" and finding.drugs == ("free:Grandma's tonic",)


def test_a_free_text_medicine_being_taken_is_named_as_unchecked():
    finding = only(run("sertraline", on(catalog.free_text("St John's wort"))), "unchecked-medicine")
    assert "St John's wort" in finding.message


def test_findings_come_most_severe_first():
    findings = run("phenelzine", on("sertraline"), on("amphetamine"), dose=120, age=20)
    severities = [SEVERITIES.index(f.severity) for f in findings]
    assert severities == sorted(severities) and findings[0].severity == "contraindicated"
    assert {"maoi-serotonergic", "maoi-pressor", "dose-above-range", "antidepressant-under-25"} <= ids(
        findings
    )


def test_a_disabled_rule_is_not_reported_and_an_unknown_id_is_refused():
    findings = check(
        ProposedRegimen(catalog.get("citalopram"), 30, "start"), [], PatientFacts(70), TODAY,
        disabled={"citalopram-max-20"},
    )  # fmt: skip
    assert findings == []
    with pytest.raises(ValueError, match="unknown rule"):
        check(
            ProposedRegimen(catalog.get("citalopram"), 30, "start"),
            [],
            PatientFacts(70),
            TODAY,
            disabled={"x"},
        )


def test_every_finding_for_every_pair_of_catalog_drugs_cites_a_known_rule_and_a_source():
    drugs = catalog.all_drugs()
    seen: set[str] = set()
    for proposed in drugs:
        for taken in drugs:
            for f in run(proposed, on(taken), dose=10_000, age=20):
                assert f.rule_id in RULES, f.rule_id
                assert f.sources and all(s.citation for s in f.sources), f.rule_id
                assert f.title and f.message.endswith((".", ")")), f.rule_id
                assert f.requires_override_reason is (f.severity in ("contraindicated", "major")) or f.rule_id in {
                    "duplicate-class", "duplicate-ingredient"
                }  # fmt: skip
                seen.add(f.rule_id)
    assert {"maoi-serotonergic", "benzodiazepine-opioid", "lithium-thiazide", "duplicate-class"} <= seen


def test_a_finding_cites_each_source_once():
    finding = only(run("phenelzine", on("sertraline")), "maoi-serotonergic")
    assert len(finding.sources) == len(set(finding.sources)) == 2
    assert finding.source.confidence == "verified"


def test_every_rule_is_listed_with_a_source():
    assert len(RULES) == 30
    for rule in RULES.values():
        assert rule.sources and rule.severity in SEVERITIES, rule.id
