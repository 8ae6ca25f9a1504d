"""Interactions by class, ingredient or flag, checked in both directions (washouts included)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from tandem.medications.catalog import Drug, Source
from tandem.medications.rules.helpers import _cap, _finding, _sources
from tandem.medications.rules.model import Context, Finding, Severity

# ---------------------------------------------------------------------------------------------
# Interactions by class, ingredient or flag, checked in both directions.


@dataclass(frozen=True)
class Match:
    label: str
    classes: frozenset[str] = frozenset()
    ingredients: frozenset[str] = frozenset()
    flags: frozenset[str] = frozenset()  # names of Drug's boolean facts
    unless_classes: frozenset[str] = frozenset()

    def __call__(self, drug: Drug) -> bool:
        if self.unless_classes & set(drug.classes):
            return False
        return bool(
            self.classes & set(drug.classes)
            or self.ingredients & set(drug.ingredients)
            or any(getattr(drug, flag) for flag in self.flags)
        )


def _m(
    label: str,
    *,
    classes: Iterable[str] = (),
    ingredients: Iterable[str] = (),
    flags: Iterable[str] = (),
    unless: Iterable[str] = (),
) -> Match:
    return Match(label, frozenset(classes), frozenset(ingredients), frozenset(flags), frozenset(unless))


MAOI = _m("an MAOI", classes=["maoi"])
MAO_B = _m("an MAO-B inhibitor", classes=["mao_b_inhibitor"])
OTHER_MAO_INHIBITOR = _m(
    "an MAO-inhibiting drug such as linezolid or methylene blue",
    flags=["mao_inhibitor"],
    unless=["maoi", "mao_b_inhibitor"],
)
SEROTONERGIC = _m("serotonergic", flags=["serotonergic"])
PRESSOR = _m("a stimulant or other pressor drug", flags=["pressor"])
LITHIUM = _m("lithium", ingredients=["lithium"])
VALPROATE = _m("valproate", ingredients=["valproate"])
LAMOTRIGINE = _m("lamotrigine", ingredients=["lamotrigine"])
ENZYME_INDUCER = _m("an enzyme inducer", flags=["enzyme_inducer"])
INDUCIBLE = _m("lowered by enzyme inducers", ingredients=["lamotrigine", "valproate"])


@dataclass(frozen=True)
class Interaction:
    rule_id: str
    title: str
    a: Match
    b: Match
    severity: Severity
    risk: str
    advice_adding_a: str  # {a} and {b} are the two drugs' names
    source_ids: tuple[str, ...]
    advice_adding_b: str = ""  # when empty, advice_adding_a serves both directions
    washout: bool = False  # also judge recently stopped drugs against their washout_days

    def advice(self, proposed_is_a: bool) -> str:
        return self.advice_adding_a if proposed_is_a or not self.advice_adding_b else self.advice_adding_b


_LITHIUM_ADVICE = (
    "Avoid the combination if you can. If {a} and {b} are taken together, check the lithium level once the "
    "combination is steady (about 5 days after starting, stopping or changing either) and watch for toxicity."
)
_SEROTONIN = "serotonin syndrome (confusion, tremor, myoclonus, hyperthermia, cardiovascular collapse), which can be fatal"

INTERACTIONS: tuple[Interaction, ...] = (
    Interaction(
        "maoi-serotonergic",
        "MAOI with a serotonergic drug",
        MAOI,
        SEROTONERGIC,
        "contraindicated",
        _SEROTONIN,
        "Do not combine {a} and {b}. Stop one, let its washout pass, then start the other: 2 drug-free weeks "
        "after an MAOI; after a serotonergic antidepressant at least 2 weeks (5 weeks after fluoxetine).",
        ("maoi-serotonergic-list", "maoi-washout"),
        washout=True,
    ),
    Interaction(
        "mao-b-serotonergic",
        "MAO-B inhibitor with a serotonergic drug",
        MAO_B,
        SEROTONERGIC,
        "major",
        _SEROTONIN,
        "Avoid combining {a} and {b}; if it is intended, record why and watch for serotonin syndrome.",
        ("maoi-serotonergic-list",),
        washout=True,
    ),
    Interaction(
        "linezolid-serotonergic",
        "Linezolid or methylene blue with a serotonergic drug",
        OTHER_MAO_INHIBITOR,
        SEROTONERGIC,
        "major",
        _SEROTONIN,
        "If {a} can be planned, stop {b} at least 2 weeks before (5 weeks for fluoxetine). If it cannot wait, "
        "record why and watch for serotonin syndrome.",
        ("fda-2011-linezolid-methylene-blue", "maoi-serotonergic-list"),
        advice_adding_b="Do not start {b} while {a} is being given; wait until it has finished.",
        washout=True,
    ),
    Interaction(
        "maoi-pressor",
        "MAOI with a stimulant or pressor drug",
        MAOI,
        PRESSOR,
        "major",
        "a hypertensive crisis",
        "Avoid combining {a} and {b}; if it is intended, record why and monitor blood pressure.",
        ("maoi-sympathomimetic",),
        washout=True,
    ),
    Interaction(
        "lithium-nsaid",
        "Lithium with an NSAID",
        LITHIUM,
        _m("an NSAID", classes=["nsaid"]),
        "major",
        "higher lithium levels and lithium toxicity",
        _LITHIUM_ADVICE,
        ("lithium-guideline",),
    ),
    Interaction(
        "lithium-ace-inhibitor",
        "Lithium with an ACE inhibitor",
        LITHIUM,
        _m("an ACE inhibitor", classes=["ace_inhibitor"]),
        "major",
        "higher lithium levels and lithium toxicity",
        _LITHIUM_ADVICE,
        ("lithium-guideline",),
    ),
    Interaction(
        "lithium-thiazide",
        "Lithium with a thiazide diuretic",
        LITHIUM,
        _m("a thiazide diuretic", classes=["thiazide"]),
        "major",
        "higher lithium levels and lithium toxicity",
        _LITHIUM_ADVICE,
        ("lithium-guideline",),
    ),
    Interaction(
        "benzodiazepine-opioid",
        "Benzodiazepine with an opioid",
        _m("a benzodiazepine", classes=["benzodiazepine"]),
        _m("an opioid", classes=["opioid"]),
        "major",
        "profound sedation, respiratory depression, coma and death",
        "Reserve {a} with {b} for patients for whom alternatives are inadequate, limit dosages and durations, "
        "and watch for sedation and slowed breathing.",
        ("benzodiazepine-opioid-box",),
    ),
    Interaction(
        "valproate-lamotrigine",
        "Valproate with lamotrigine",
        VALPROATE,
        LAMOTRIGINE,
        "major",
        "serious rash (SJS/TEN): valproate co-administration is a named risk factor",
        "With {a} the lamotrigine titration target is 100 mg/day, not 200 mg/day: review the {b} dose before "
        "starting {a}.",
        ("lamotrigine-label", "lamotrigine-titration"),
        advice_adding_b="Use the titration with valproate: 25 mg every other day in weeks 1–2, 25 mg/day in "
        "weeks 3–4, 50 mg/day in week 5, then 100 mg/day. Do not exceed the initial dose or the escalation rate.",
    ),
    Interaction(
        "enzyme-inducer-levels",
        "Enzyme inducer with lamotrigine or valproate",
        ENZYME_INDUCER,
        INDUCIBLE,
        "moderate",
        "lower levels of {b} (enzyme induction; not confirmed)",
        "After starting or changing {a}, check the level or the response to {b}. With lamotrigine, the "
        "enzyme-inducer titration uses roughly double doses (target 300–400 mg/day).",
        ("carbamazepine-unconfirmed", "lamotrigine-titration"),
        advice_adding_b="{a} may lower {b} levels: check the level or the response. For lamotrigine use the "
        "enzyme-inducer titration (roughly double doses, target 300–400 mg/day).",
    ),
)


def interactions(ctx: Context) -> Iterator[Finding]:
    proposed = ctx.drug
    for rule in INTERACTIONS:
        for regimen in ctx.others:
            for proposed_is_a in _directions(rule, proposed, regimen.drug):
                yield _interaction_finding(rule, proposed, regimen.drug, proposed_is_a)
        if not rule.washout:
            continue
        for regimen in ctx.stopped:
            other = regimen.drug
            assert regimen.end is not None
            off = (ctx.today - regimen.end).days
            if other.key == proposed.key or other.washout_days is None or off >= other.washout_days:
                continue
            for proposed_is_a in _directions(rule, proposed, other):
                yield _washout_finding(rule, proposed, other, regimen.end, off, proposed_is_a)


def _directions(rule: Interaction, proposed: Drug, other: Drug) -> list[bool]:
    if proposed.key == other.key:
        return []
    if rule.a(proposed) and rule.b(other):
        return [True]
    if rule.b(proposed) and rule.a(other):
        return [False]
    return []


def _ab(proposed: Drug, other: Drug, proposed_is_a: bool) -> dict[str, str]:
    a, b = (proposed, other) if proposed_is_a else (other, proposed)
    return {"a": a.name, "b": b.name}


def _interaction_finding(rule: Interaction, proposed: Drug, other: Drug, proposed_is_a: bool) -> Finding:
    names = _ab(proposed, other, proposed_is_a)
    kinds = (rule.a, rule.b) if proposed_is_a else (rule.b, rule.a)
    message = (
        f"{_cap(_named(proposed, kinds[0]))} with {_named(other, kinds[1])}: risk of "
        f"{rule.risk.format(**names)}. {_cap(rule.advice(proposed_is_a).format(**names))}"
    )
    return _finding(
        rule.rule_id,
        rule.severity,
        f"{rule.title}: {proposed.name} and {other.name}",
        message,
        _sources(rule.source_ids) + _facts(proposed, other),
        (proposed.key, other.key),
    )


def _washout_finding(
    rule: Interaction, proposed: Drug, stopped: Drug, end: date, off: int, proposed_is_a: bool
) -> Finding:
    assert stopped.washout_days is not None
    names = _ab(proposed, stopped, proposed_is_a)
    free_from = end + timedelta(days=stopped.washout_days)
    message = (
        f"{_cap(stopped.name)} was stopped {off} day{'s' if off != 1 else ''} ago ({end.isoformat()}). "
        f"{_cap(proposed.name)} should not start until {stopped.washout_days} drug-free days have passed, "
        f"on {free_from.isoformat()}: the risk is {rule.risk.format(**names)}. Wait, or record why it cannot wait."
    )
    washout_source = stopped.source_for("washout")
    return _finding(
        f"{rule.rule_id}-washout",
        rule.severity,
        f"{rule.title}: washout after {stopped.name} not complete",
        message,
        _sources(rule.source_ids) + ((washout_source,) if washout_source else ()) + _facts(proposed, stopped),
        (proposed.key, stopped.key),
    )


def _named(drug: Drug, match: Match) -> str:
    """ "ibuprofen (an NSAID)", but plain "lamotrigine" where the label would repeat the name."""
    return drug.name if match.label.casefold() in drug.name.casefold() else f"{drug.name} ({match.label})"


def _facts(*drugs: Drug) -> tuple[Source, ...]:
    """The flags the interaction relied on, so an unverified flag lowers the finding's confidence."""
    found = []
    for drug in drugs:
        for fact in ("serotonergic", "mao_inhibitor", "pressor", "enzyme_inducer"):
            src = drug.source_for(fact) if getattr(drug, fact) else None
            if src is not None and src not in found:
                found.append(src)
    return tuple(found)
