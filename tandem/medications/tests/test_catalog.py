"""The drug catalogue: the §E table in full, a source for every fact, search and free text. No database."""

from __future__ import annotations

import copy
import json

import pytest

from tandem.medications import catalog
from tandem.medications.catalog import Drug

# clinical-facts.md §E, transcribed: (key, class, RxCUI, mark, dose min, dose max).
# Mark: "verified" (✔), "secondary" (2°), "unverified" (u); None where the table gives no code.
E_TABLE = [
    ("fluoxetine", "ssri", "4493", "verified", 20, 80),
    ("sertraline", "ssri", "36437", "verified", 50, 200),
    ("citalopram", "ssri", "2556", "verified", 20, 40),
    ("escitalopram", "ssri", "321988", "verified", 10, 20),
    ("paroxetine", "ssri", "32937", "verified", 20, 50),
    ("fluvoxamine", "ssri", "42355", "verified", 50, 300),
    ("venlafaxine", "snri", "39786", "verified", 75, 225),
    ("duloxetine", "snri", "72625", "verified", 40, 120),
    ("desvenlafaxine", "snri", "734064", "unverified", 50, 50),
    ("bupropion", "other_antidepressant", "42347", "verified", 150, 450),
    ("mirtazapine", "other_antidepressant", "15996", "verified", 15, 45),
    ("trazodone", "other_antidepressant", "10737", "unverified", 150, 400),
    ("vortioxetine", "other_antidepressant", "1455099", "verified", 10, 20),
    ("vilazodone", "ssri", "1086769", "unverified", 20, 40),
    ("amitriptyline", "tca", "704", "verified", 50, 150),
    ("nortriptyline", "tca", "7531", "verified", 75, 150),
    ("clomipramine", "tca", "2597", "verified", 100, 250),
    ("imipramine", "tca", "5691", "verified", 75, 200),
    ("phenelzine", "maoi", "8123", "unverified", 45, 90),
    ("tranylcypromine", "maoi", "10734", "unverified", 30, 60),
    ("buspirone", "anxiolytic", "1827", "unverified", 15, 60),
    ("hydroxyzine", "anxiolytic", "5553", "unverified", 50, 100),
    ("lorazepam", "benzodiazepine", "6470", "secondary", 2, 6),
    ("alprazolam", "benzodiazepine", "596", "secondary", 0.75, 4),
    ("clonazepam", "benzodiazepine", "2598", "unverified", 0.5, 4),
    ("diazepam", "benzodiazepine", "3322", "verified", 4, 40),
    ("lithium", "mood_stabiliser", "6448", "secondary", 900, 1800),
    ("valproic_acid", "mood_stabiliser", "11118", "verified", None, None),
    ("divalproex", "mood_stabiliser", "266856", "verified", None, None),
    ("lamotrigine", "mood_stabiliser", "28439", "verified", 100, 400),
    ("carbamazepine", "mood_stabiliser", "2002", "verified", 400, 1600),
    ("oxcarbazepine", "anticonvulsant", "32624", "verified", 600, 2400),
    ("aripiprazole", "antipsychotic_sga", "89013", "verified", 2, 30),
    ("brexpiprazole", "antipsychotic_sga", "1658314", "verified", 1, 4),
    ("quetiapine", "antipsychotic_sga", "51272", "secondary", 50, 800),
    ("olanzapine", "antipsychotic_sga", "61381", "verified", 5, 20),
    ("risperidone", "antipsychotic_sga", "35636", "verified", 1, 6),
    ("iloperidone", "antipsychotic_sga", "73178", "verified", 12, 24),
    ("clozapine", "antipsychotic_sga", "2626", "verified", 300, 900),
    ("ziprasidone", "antipsychotic_sga", None, None, None, None),
    ("lurasidone", "antipsychotic_sga", None, None, None, None),
    ("paliperidone", "antipsychotic_sga", None, None, None, None),
    ("cariprazine", "antipsychotic_sga", None, None, None, None),
    ("haloperidol", "antipsychotic_fga", "5093", "verified", 2, 20),
    ("perphenazine", "antipsychotic_fga", "8076", "verified", 8, 64),
    ("methylphenidate", "stimulant", "6901", "verified", 10, 60),
    ("amphetamine", "stimulant", "725", "secondary", 5, 40),
    ("lisdexamfetamine", "stimulant", "700810", "unverified", 30, 70),
    ("atomoxetine", "adhd_nonstimulant", "38400", "verified", 40, 100),
    ("modafinil", "wakefulness_agent", "30125", "verified", 100, 200),
    ("naltrexone", "opioid_antagonist", "7243", "verified", 50, 50),
]

# The drugs outside psychiatry that the checks need, by class.
CHECK_DRUGS = {
    "nsaid": ["ibuprofen", "naproxen", "diclofenac", "celecoxib"],
    "ace_inhibitor": ["lisinopril", "enalapril", "ramipril"],
    "thiazide": ["hydrochlorothiazide", "chlorthalidone"],
    "opioid": [
        "oxycodone", "hydrocodone", "morphine", "tramadol", "fentanyl", "methadone", "codeine", "buprenorphine",
        "tapentadol", "meperidine",
    ],
    "triptan": ["sumatriptan", "rizatriptan"],
    "antibiotic_linezolid": ["linezolid"],
    "mao_b_inhibitor": ["selegiline", "rasagiline"],
}  # fmt: skip
OTHER_CHECK_DRUGS = ["methylene_blue", "dextromethorphan", "cyclobenzaprine", "tetrabenazine"]

# clinical-facts.md §D: serotonergic drugs to flag with MAOIs (✔).
MAOI_LIST = [
    "buspirone", "citalopram", "escitalopram", "fluoxetine", "fluvoxamine", "paroxetine", "sertraline",
    "desvenlafaxine", "duloxetine", "venlafaxine", "milnacipran", "mirtazapine", "trazodone", "vilazodone",
    "cyclobenzaprine", "dextromethorphan", "fentanyl", "meperidine", "tapentadol", "tramadol", "tetrabenazine",
]  # fmt: skip

# RxCUIs in the CPIC drug table (cpicpgx/cpic-schema drug.sql), read for this catalogue.
CPIC = {
    "celecoxib": "140587", "codeine": "2670", "dextromethorphan": "3289", "diclofenac": "3355", "fentanyl": "4337",
    "hydrochlorothiazide": "5487", "methadone": "6813", "methylene_blue": "6878", "morphine": "7052",
    "oxycodone": "7804", "tetrabenazine": "10390", "tramadol": "10689",
}  # fmt: skip


def test_the_e_table_is_fully_present_with_its_codes_marks_and_doses():
    for key, drug_class, rxnorm, mark, low, high in E_TABLE:
        drug = catalog.get(key)
        assert drug_class in drug.classes, key
        assert drug.rxnorm == rxnorm, key
        if rxnorm is None:
            assert "rxnorm" not in drug.sources and not drug.rxnorm_verified, key
        else:
            assert drug.sources["rxnorm"].confidence == mark, key
            assert drug.rxnorm_verified is (mark == "verified"), key
        assert (drug.dose_min_mg, drug.dose_max_mg) == (low, high), key
        if high is not None:
            assert drug.sources["dose"].confidence == "unverified", f"{key}: §E doses are unverified"


def test_the_drugs_the_checks_need_are_present_in_their_classes():
    for drug_class, keys in CHECK_DRUGS.items():
        for key in keys:
            assert drug_class in catalog.get(key).classes, key
    for key in OTHER_CHECK_DRUGS:
        assert catalog.get(key).classes


def test_every_catalog_drug_has_a_class_and_a_source_for_every_fact_it_asserts():
    drugs = catalog.all_drugs()
    assert len({d.key for d in drugs}) == len(drugs)
    for drug in drugs:
        assert drug.classes and all(c in catalog.classes() for c in drug.classes), drug.key
        assert "classes" in drug.sources, drug.key
        for fact in catalog.asserted_facts(drug):
            src = drug.sources.get(fact)
            assert src is not None, f"{drug.key}: {fact} has no source"
            assert src.citation and src.confidence in catalog.CONFIDENCES


def test_every_verified_source_has_an_address():
    for drug in catalog.all_drugs():
        for fact, src in drug.sources.items():
            if src.confidence == "verified":
                assert src.url, f"{drug.key}: {fact}"
    for key in ("antidepressant_suicidality", "lithium_toxicity", "valproate", "clozapine", "benzodiazepine"):
        assert catalog.boxed_warning(key).source.url


def test_only_codes_read_in_a_source_are_marked_verified():
    for drug in catalog.all_drugs():
        if drug.rxnorm_verified:
            assert drug.sources["rxnorm"].citation.startswith("CPIC drug table"), drug.key
        if drug.rxnorm is not None:
            assert drug.rxnorm.isdigit(), drug.key
    for key, code in CPIC.items():
        drug = catalog.get(key)
        assert (drug.rxnorm, drug.rxnorm_verified) == (code, True), key


def test_codes_not_found_in_a_source_are_left_empty_rather_than_guessed():
    for key in (
        "ibuprofen",
        "naproxen",
        "lisinopril",
        "linezolid",
        "selegiline",
        "rasagiline",
        "sumatriptan",
    ):
        assert catalog.get(key).rxnorm is None, key


def test_the_serotonergic_flags_follow_the_maoi_list():
    for key in MAOI_LIST:
        drug = catalog.get(key)
        assert drug.serotonergic, key
        assert drug.sources["serotonergic"].confidence == "verified", key
    extra = [d for d in catalog.all_drugs() if d.serotonergic and d.key not in MAOI_LIST]
    for drug in extra:  # TCAs, triptans, vortioxetine: flagged, but with their weaker source
        assert drug.sources["serotonergic"].confidence != "verified", drug.key
    assert {d.key for d in extra} == {
        "amitriptyline", "nortriptyline", "clomipramine", "imipramine", "sumatriptan", "rizatriptan", "vortioxetine"
    }  # fmt: skip


def test_mao_inhibitors_are_marked_and_are_not_themselves_serotonergic():
    inhibitors = {d.key for d in catalog.all_drugs() if d.mao_inhibitor}
    assert inhibitors == {
        "phenelzine",
        "tranylcypromine",
        "selegiline",
        "rasagiline",
        "linezolid",
        "methylene_blue",
    }
    assert not any(catalog.get(k).serotonergic for k in inhibitors)


def test_the_fluoxetine_washout_is_five_weeks_and_others_two():
    assert catalog.get("fluoxetine").washout_days == 35
    assert catalog.get("sertraline").washout_days == 14
    assert catalog.get("phenelzine").washout_days == 14
    assert catalog.get("vortioxetine").washout_days == 21
    assert catalog.get("linezolid").washout_days is None  # not sourced: no washout is claimed


def test_carbamazepine_is_an_enzyme_inducer_marked_unverified():
    drug = catalog.get("carbamazepine")
    assert drug.enzyme_inducer
    assert drug.sources["enzyme_inducer"].confidence == "unverified"
    assert [d.key for d in catalog.all_drugs() if d.enzyme_inducer] == ["carbamazepine"]


def test_doses_are_in_mg_except_fentanyl_buprenorphine_and_methylene_blue():
    odd = {d.key: d.units for d in catalog.all_drugs() if d.units != ("mg",)}
    assert odd == {
        "fentanyl": ("mcg", "mcg/h"), "buprenorphine": ("mg", "mcg/h"), "methylene_blue": ("mg/kg", "mg")
    }  # fmt: skip
    assert catalog.get("lithium").units == ("mg",)


def test_monitoring_needs_and_boxed_warnings_name_known_keys():
    for drug in catalog.all_drugs():
        assert all(m in catalog.monitoring_needs() for m in drug.monitoring), drug.key
        for key in drug.boxed_warnings:
            assert catalog.boxed_warning(key).text
    assert catalog.get("lithium").monitoring[:1] == ("lithium_level",)
    assert "anc" in catalog.get("clozapine").monitoring
    assert all("metabolic" in catalog.get(k).monitoring for k in ("olanzapine", "quetiapine", "aripiprazole"))
    assert catalog.get("sertraline").boxed_warnings == ("antidepressant_suicidality",)


def test_valproic_acid_and_divalproex_share_the_valproate_ingredient():
    assert catalog.get("valproic_acid").ingredients == catalog.get("divalproex").ingredients == ("valproate",)
    assert catalog.get("sertraline").ingredients == ("sertraline",)


def test_get_raises_key_error_for_an_unknown_key():
    with pytest.raises(KeyError):
        catalog.get("unobtainium")


def test_a_free_key_gives_a_free_text_drug_without_classes():
    drug = catalog.get("free:  St John's   wort ")
    assert drug.key == "free:St John's wort" and drug.name == "St John's wort"
    assert drug.classes == () and drug.is_free_text and not drug.checkable
    assert catalog.free_text("St John's wort") == drug
    with pytest.raises(ValueError):
        catalog.free_text("   ")


def test_search_puts_exact_names_before_prefixes_and_matches_synonyms():
    assert catalog.search("Lithium")[0].key == "lithium"
    assert catalog.search("lithium carbonate")[0].key == "lithium"
    assert [d.key for d in catalog.search("valproate")] == ["divalproex", "valproic_acid"]
    assert catalog.search("pethidine")[0].key == "meperidine"
    assert [d.key for d in catalog.search("citalopram")] == ["citalopram", "escitalopram"]
    assert catalog.search("  ") == []
    assert catalog.search("xyzzy") == []


def test_search_includes_an_organisations_own_drugs():
    own = Drug(
        key="org:7", name="Lithium citrate solution", classes=("mood_stabiliser",), ingredients=("lithium",)
    )
    assert own in catalog.search("lithium cit", extra=[own])
    assert catalog.search("solution", extra=[own]) == [own]
    assert own not in catalog.search("lithium cit")


def test_an_organisation_drug_is_the_same_dataclass_and_is_hashable():
    own = Drug(key="org:7", name="Sertraline oral solution", classes=("ssri",), serotonergic=True)
    assert own.checkable and own.units == ("mg",)
    assert len({own, catalog.get("sertraline"), catalog.get("sertraline")}) == 2


def test_loading_refuses_a_fact_without_a_source():
    data = json.loads(catalog.DATA_FILE.read_text(encoding="utf-8"))
    broken = copy.deepcopy(data)
    sertraline = next(d for d in broken["drugs"] if d["key"] == "sertraline")
    del sertraline["sources"]["serotonergic"]
    with pytest.raises(ValueError, match=r"sertraline.*serotonergic has no source"):
        catalog._load(broken)


def test_loading_refuses_unknown_classes_sources_and_confidences():
    data = json.loads(catalog.DATA_FILE.read_text(encoding="utf-8"))
    for path, value, message in [
        (("classes",), ["snake_oil"], "unknown class"),
        (("sources", "classes"), "nowhere", "unknown source"),
        (("sources", "classes"), ["facts-e", "probably"], "confidence must be"),
    ]:
        broken = copy.deepcopy(data)
        drug = next(d for d in broken["drugs"] if d["key"] == "sertraline")
        target = drug
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
        with pytest.raises(ValueError, match=message):
            catalog._load(broken)
