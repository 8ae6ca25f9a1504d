"""Side-effect triage: pure rules over what the patient reported and the medicines they take.

Every finding names its rule and cites its source in docs/clinical-facts.md with the
confidence mark used there (✔ read in a primary source, 2° secondary, unverified). Where a rule
leans on a fact marked unverified (which symptoms together suggest serotonin syndrome or lithium
toxicity), the symptom sets are data in `TriageRules`, so an organisation can change them, and
the finding says it is unverified.

Tandem supports the prescriber's decision; it never makes one: a finding says why it fired and
how soon someone should look, never what to do with the medicine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["urgent", "high", "routine"]
SEVERITIES: tuple[Severity, ...] = ("urgent", "high", "routine")  # most urgent first

# The checklist the patient ticks: key → words the patient reads. Order is the order shown.
SYMPTOMS: dict[str, str] = {
    "rash": "Rash",
    "skin_blistering": "Blistering or peeling skin",
    "fever": "Fever",
    "confusion": "Confusion",
    "agitation": "Agitation or restlessness",
    "muscle_twitching": "Muscle twitching or jerking",
    "shivering": "Shivering",
    "sweating": "Heavy sweating",
    "diarrhoea": "Diarrhoea",
    "tremor": "Shaking hands or trembling (tremor)",
    "unsteady": "Unsteady walking or slurred speech",
    "vomiting": "Vomiting",
    "drowsiness": "Drowsiness",
    "nausea": "Nausea",
    "headache": "Headache",
    "dizziness": "Dizziness",
    "sexual": "Sexual problems",
    "weight_gain": "Weight gain",
    "sleep": "Trouble sleeping",
    "other": "Something else",
}

# FIBSER (clinical-facts.md §A7): three self-rated items, 0–6 each; the burden item decides.
# instruments.json stores its structure only ("text omitted; obtain from UBC"), so the questions
# and the anchors below are Tandem's own plain words, not the published wording. An organisation
# holding the revised FIBSER may put the published anchors here.
FIBSER_ITEMS: dict[str, dict[str, Any]] = {
    "frequency": {
        "question": "How often have you had side effects from your medicine in the past week?",
        "anchors": {0: "never", 3: "about half the time", 6: "all or almost all the time"},
    },
    "intensity": {
        "question": "How strong were the side effects at their worst?",
        "anchors": {0: "no side effects", 3: "moderate", 6: "more than I can bear"},
    },
    "burden": {
        "question": "How much do the side effects get in the way of your day-to-day life?",
        "anchors": {0: "not at all", 3: "quite a bit", 6: "I cannot do my usual things"},
    },
}
FIBSER_MAX = 6


@dataclass(frozen=True)
class Source:
    citation: str
    url: str
    mark: str  # "✔", "2°" or "unverified", as in clinical-facts.md

    def __str__(self) -> str:
        return f"{self.citation} {self.mark}" + (f" {self.url}" if self.url else "")


FIBSER_RULE = Source(
    "clinical-facts.md §A7 FIBSER decision rule on the burden item (0–2 / 3–4 / 5–6)",
    "https://workingwithdepression.psychiatry.ubc.ca/leaps/frequency-intensity-burden-of-side-effects-rating-fibser-scale",
    "✔",
)
LAMOTRIGINE_RASH = Source(
    "clinical-facts.md §D Lamotrigine: boxed warning, serious rash (SJS/TEN)",
    "https://api.fda.gov/drug/label.json?search=set_id%3A%22dc6e6735-d49a-44d8-936d-7c33437bc59e%22",
    "✔",
)
CARBAMAZEPINE_RASH = Source(
    "clinical-facts.md §D Carbamazepine: boxed warning, SJS/TEN and HLA-B*1502",
    "https://api.fda.gov/drug/label.json?search=openfda.generic_name%3A%22carbamazepine%22",
    "✔",
)
SEROTONIN = Source(
    "clinical-facts.md §D MAOI washouts and serotonin syndrome (serotonergic drugs ✔); "
    "the symptom combination is general knowledge",
    "",
    "unverified",
)
LITHIUM = Source(
    "clinical-facts.md §D Lithium: boxed warning, toxicity can occur at doses close to therapeutic "
    "levels ✔; the symptom combination is general knowledge",
    "https://api.fda.gov/drug/label.json?search=openfda.generic_name%3A%22lithium+carbonate%22",
    "unverified",
)

RASH_DRUGS: dict[str, Source] = {"lamotrigine": LAMOTRIGINE_RASH, "carbamazepine": CARBAMAZEPINE_RASH}


@dataclass(frozen=True)
class TriageRules:
    """The configurable parts of the rules. The defaults are general knowledge (unverified)
    except the FIBSER threshold (§A7 ✔) and the skin symptoms of the SJS/TEN boxed warnings."""

    skin: frozenset[str] = frozenset({"rash", "skin_blistering"})
    # Serotonin syndrome: a change in mental state together with a neuromuscular or autonomic sign.
    serotonin_mental: frozenset[str] = frozenset({"agitation", "confusion"})
    serotonin_body: frozenset[str] = frozenset(
        {"muscle_twitching", "shivering", "sweating", "diarrhoea", "fever"}
    )
    # Used only when the catalogue does not say whether a drug is serotonergic.
    serotonergic_classes: frozenset[str] = frozenset({"ssri", "snri", "maoi", "tca"})
    # Lithium toxicity: tremor, a gut symptom and a neurological one, all three.
    lithium_tremor: frozenset[str] = frozenset({"tremor"})
    lithium_gut: frozenset[str] = frozenset({"vomiting", "diarrhoea"})
    lithium_neuro: frozenset[str] = frozenset({"unsteady", "confusion"})
    burden_high_from: int = 5  # §A7: 5–6 "decrease the dose or switch"
    burden_address_from: int = 3  # §A7: 3–4 "address the side effect"


DEFAULT_RULES = TriageRules()


@dataclass(frozen=True)
class SideEffectInput:
    frequency: int
    intensity: int
    burden: int
    symptoms: frozenset[str]
    text: str = ""
    regimen_id: int | None = None  # the medicine the patient suspects, if they named one


@dataclass(frozen=True)
class RegimenFacts:
    """What the rules need to know about one of the patient's current regimens."""

    regimen_id: int
    drug_key: str
    drug_name: str
    drug_classes: tuple[str, ...] = ()
    ingredients: tuple[str, ...] = ()
    # The catalogue's (or the organisation's) serotonergic flag. Its absence is "not recorded",
    # not "not serotonergic", so the drug classes are asked as well: missing a serotonin
    # syndrome costs more than a needless look.
    serotonergic: bool = False

    def contains(self, ingredient: str) -> bool:
        words = _words(self.drug_name) | _words(self.drug_key.replace("_", " "))
        return ingredient in self.ingredients or ingredient in words

    def is_serotonergic(self, rules: TriageRules = DEFAULT_RULES) -> bool:
        return self.serotonergic or bool(set(self.drug_classes) & rules.serotonergic_classes)


@dataclass(frozen=True)
class TriageFinding:
    rule_id: str
    severity: Severity
    title: str
    reason: str
    source: str
    confidence: str = "✔"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def triage(
    report: SideEffectInput, regimens: Sequence[RegimenFacts], *, rules: TriageRules = DEFAULT_RULES
) -> list[TriageFinding]:
    """The findings for one report, most urgent first; never empty (the FIBSER burden rule
    always answers)."""
    symptoms = frozenset(report.symptoms)
    findings: list[TriageFinding] = []
    findings += _rash(symptoms, regimens, rules)
    findings += _serotonin(symptoms, regimens, rules)
    findings += _lithium(symptoms, regimens, rules)
    findings.append(_burden(report.burden, rules))
    return sorted(findings, key=lambda f: SEVERITIES.index(f.severity))


def overall_severity(findings: Iterable[TriageFinding]) -> Severity:
    return min((f.severity for f in findings), key=SEVERITIES.index, default="routine")


def symptom_labels(keys: Iterable[str]) -> list[str]:
    return [SYMPTOMS.get(k, k) for k in keys]


def _named(keys: Iterable[str]) -> str:
    return ", ".join(label.lower() for label in symptom_labels(sorted(keys, key=_symptom_order)))


def _symptom_order(key: str) -> int:
    order = list(SYMPTOMS)
    return order.index(key) if key in order else len(order)


def _rash(
    symptoms: frozenset[str], regimens: Sequence[RegimenFacts], rules: TriageRules
) -> list[TriageFinding]:
    skin = symptoms & rules.skin
    if not skin:
        return []
    findings = []
    for ingredient, source in RASH_DRUGS.items():
        on = [r for r in regimens if r.contains(ingredient)]
        if not on:
            continue
        names = ", ".join(sorted({r.drug_name for r in on}))
        findings.append(
            TriageFinding(
                rule_id=f"rash-{ingredient}",
                severity="urgent",
                title=f"Skin symptoms while taking {names}",
                reason=(
                    f"The patient reported {_named(skin)} while taking {names}: the {ingredient} "
                    "label carries a boxed warning for serious rash (Stevens–Johnson syndrome / "
                    "toxic epidermal necrolysis). Assess today."
                ),
                source=str(source),
                confidence=source.mark,
            )
        )
    return findings


def _serotonin(
    symptoms: frozenset[str], regimens: Sequence[RegimenFacts], rules: TriageRules
) -> list[TriageFinding]:
    mental, body = symptoms & rules.serotonin_mental, symptoms & rules.serotonin_body
    on = [r for r in regimens if r.is_serotonergic(rules)]
    if not (mental and body and on):
        return []
    names = ", ".join(sorted({r.drug_name for r in on}))
    return [
        TriageFinding(
            rule_id="serotonin-syndrome",
            severity="urgent",
            title="Possible serotonin syndrome",
            reason=(
                f"The patient reported {_named(mental)} together with {_named(body)} while taking "
                f"serotonergic medication ({names}). This combination can be a sign of serotonin "
                "syndrome. Assess today."
            ),
            source=str(SEROTONIN),
            confidence=SEROTONIN.mark,
        )
    ]


def _lithium(
    symptoms: frozenset[str], regimens: Sequence[RegimenFacts], rules: TriageRules
) -> list[TriageFinding]:
    on = [r for r in regimens if r.contains("lithium")]
    tremor, gut, neuro = (
        symptoms & rules.lithium_tremor,
        symptoms & rules.lithium_gut,
        symptoms & rules.lithium_neuro,
    )
    if not (on and tremor and gut and neuro):
        return []
    return [
        TriageFinding(
            rule_id="lithium-toxicity",
            severity="urgent",
            title="Possible lithium toxicity",
            reason=(
                f"The patient reported {_named(tremor | gut | neuro)} while taking "
                f"{', '.join(sorted({r.drug_name for r in on}))}. Together these can be signs of "
                "lithium toxicity, which can occur at doses close to therapeutic levels. Assess today."
            ),
            source=str(LITHIUM),
            confidence=LITHIUM.mark,
        )
    ]


def _burden(burden: int, rules: TriageRules) -> TriageFinding:
    if burden >= rules.burden_high_from:
        severity: Severity = "high"
        band, action = f"{rules.burden_high_from}–{FIBSER_MAX}", "decrease the dose or switch"
    elif burden >= rules.burden_address_from:
        severity = "routine"
        band, action = (
            f"{rules.burden_address_from}–{rules.burden_high_from - 1}",
            ("address the side effect (change the dose, add an antidote)"),
        )
    else:
        severity = "routine"
        band, action = f"0–{rules.burden_address_from - 1}", "no change"
    return TriageFinding(
        rule_id=f"fibser-burden-{band.replace('–', '-')}",
        severity=severity,
        title=f"FIBSER burden {burden} of {FIBSER_MAX}",
        reason=f"FIBSER burden {burden} is in the {band} band; the decision rule for that band is: {action}.",
        source=str(FIBSER_RULE),
        confidence=FIBSER_RULE.mark,
    )


def _words(text: str) -> set[str]:
    return set("".join(c if c.isalnum() else " " for c in text.casefold()).split())
