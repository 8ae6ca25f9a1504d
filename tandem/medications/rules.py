"""Prescribing checks: pure rules over a proposed change and the patient's regimens.

`check()` is the one entry point. It never decides: every Finding says what and why, what to do,
and cites its sources with their confidence (clinical-facts.md). Interaction pairs, duplicate
classes, dose caps and monitoring prompts are tables; the functions below only read them. Every
rule id is listed in RULES, so an organisation can switch off a rule whose facts it has not
confirmed (`disabled`), and an override can be recorded against the id.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from tandem.medications import catalog, titration
from tandem.medications.catalog import Drug, Source
from tandem.medications.titration import format_mg

Severity = Literal["contraindicated", "major", "moderate", "info"]
SEVERITIES: tuple[Severity, ...] = ("contraindicated", "major", "moderate", "info")
Change = Literal["start", "increase", "decrease", "switch", "restart"]
NEW_EXPOSURE: frozenset[Change] = frozenset({"start", "restart", "switch"})
ANY_CHANGE: frozenset[Change] = frozenset({"start", "increase", "decrease", "switch", "restart"})

# Checks run only on medicines with a class or an ingredient; this is about Tandem, not the drug.
UNCHECKED_SOURCE = Source(
    "Tandem checks only medicines with a class or ingredient (DESIGN.md §5)", None, "verified"
)
ORG_ENTRY_SOURCE = Source("Entered by the organisation, not from clinical-facts.md", None, "unverified")
DUPLICATE_SOURCE = Source(
    "Therapeutic duplication: general prescribing practice, not in clinical-facts.md", None, "unverified"
)


@dataclass(frozen=True)
class ProposedRegimen:
    drug: Drug
    daily_dose_mg: float | None
    change: Change


@dataclass(frozen=True)
class ActiveRegimen:
    """A regimen the patient is on, or was on recently (pass those too: washouts need them).

    `end` is the day the drug was stopped: no dose on or after it. None while it goes on; a date
    after `today` is a planned stop (a taper or cross-taper still under way).
    """

    drug: Drug
    daily_dose_mg: float | None
    start: date
    end: date | None = None

    def is_current(self, today: date) -> bool:
        return self.end is None or self.end > today


@dataclass(frozen=True)
class PatientFacts:
    """What the checks need to know. None means not known (not tested, not recorded)."""

    age_years: int
    hla_b1502_positive: bool | None = None
    cyp2c19_poor_metaboliser: bool | None = None
    hepatic_impairment: bool | None = None


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: Severity
    title: str
    message: str
    sources: tuple[Source, ...]  # the rule's own first, then the facts it relied on
    requires_override_reason: bool
    drugs: tuple[str, ...] = ()  # keys of the drugs involved, the proposed one first
    due: date | None = None  # when a prompted test or review is due

    @property
    def source(self) -> Source:
        return self.sources[0]

    @property
    def confidence(self) -> catalog.Confidence:
        """The weakest confidence among its sources: what the UI should show."""
        return catalog.weakest(self.sources)


@dataclass(frozen=True)
class RuleInfo:
    id: str
    title: str
    severity: Severity  # the most severe it reports
    sources: tuple[Source, ...]


@dataclass(frozen=True)
class Context:
    proposed: ProposedRegimen
    patient: PatientFacts
    today: date
    others: tuple[ActiveRegimen, ...]  # current regimens of other drugs
    same: tuple[ActiveRegimen, ...]  # current regimens of the proposed drug itself
    stopped: tuple[ActiveRegimen, ...]  # regimens stopped on or before today

    @property
    def drug(self) -> Drug:
        return self.proposed.drug


def check(
    proposed: ProposedRegimen,
    current: Sequence[ActiveRegimen],
    patient: PatientFacts,
    today: date,
    *,
    disabled: Collection[str] = (),
) -> list[Finding]:
    """Findings for starting or changing `proposed` on `today`, most severe first."""
    unknown = set(disabled) - RULES.keys()
    if unknown:
        raise ValueError(f"unknown rule ids: {sorted(unknown)}")
    key = proposed.drug.key
    ctx = Context(
        proposed=proposed,
        patient=patient,
        today=today,
        others=tuple(r for r in current if r.is_current(today) and r.drug.key != key),
        same=tuple(r for r in current if r.is_current(today) and r.drug.key == key),
        stopped=tuple(r for r in current if not r.is_current(today)),
    )
    found: dict[tuple[str, tuple[str, ...]], Finding] = {}
    for rule in _CHECKS:
        for f in rule(ctx):
            if f.rule_id not in disabled:
                found.setdefault((f.rule_id, f.drugs), f)
    return sorted(found.values(), key=lambda f: (SEVERITIES.index(f.severity), f.rule_id, f.drugs))


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


# ---------------------------------------------------------------------------------------------
# Duplicate therapy.

DUPLICATE_GROUPS: tuple[tuple[str, frozenset[str]], ...] = (
    ("SSRIs", frozenset({"ssri"})),
    ("SNRIs", frozenset({"snri"})),
    ("tricyclic antidepressants", frozenset({"tca"})),
    ("MAOIs", frozenset({"maoi"})),
    ("antipsychotics", frozenset({"antipsychotic_sga", "antipsychotic_fga"})),
    ("benzodiazepines", frozenset({"benzodiazepine"})),
    ("stimulants", frozenset({"stimulant"})),
    ("NSAIDs", frozenset({"nsaid"})),
)


def duplicates(ctx: Context) -> Iterator[Finding]:
    """Two of a kind. A switch (a cross-taper included) is not a duplicate."""
    if ctx.proposed.change == "switch":
        return
    drug = ctx.drug
    if ctx.proposed.change == "start" and ctx.same:
        yield _finding(
            "duplicate-ingredient",
            "moderate",
            f"Already taking {drug.name}",
            f"{_cap(drug.name)} is already an active regimen. Starting it again adds a second regimen of the "
            "same medicine: change the existing regimen instead, or record why both are needed.",
            (DUPLICATE_SOURCE,),
            (drug.key,),
            override=True,
        )
    for regimen in ctx.others:
        other = regimen.drug
        shared = set(drug.ingredients) & set(other.ingredients)
        if shared:
            yield _finding(
                "duplicate-ingredient",
                "moderate",
                f"Same medicine twice: {drug.name} and {other.name}",
                f"{_cap(drug.name)} and {other.name} both contain {', '.join(sorted(shared))}. Taking both "
                "doubles the dose: stop one, or record why both are needed.",
                (DUPLICATE_SOURCE,),
                (drug.key, other.key),
                override=True,
            )
            continue
        for label, group in DUPLICATE_GROUPS:
            if group & set(drug.classes) and group & set(other.classes):
                yield _finding(
                    "duplicate-class",
                    "moderate",
                    f"Two {label}: {drug.name} and {other.name}",
                    f"{_cap(drug.name)} and {other.name} are both {label}. Two of the same class add side "
                    "effects more than benefit. If this is a switch, record it as a switch; otherwise record "
                    "why both are needed.",
                    (DUPLICATE_SOURCE,),
                    (drug.key, other.key),
                    override=True,
                )
                break


# ---------------------------------------------------------------------------------------------
# Doses.


@dataclass(frozen=True)
class DoseCap:
    rule_id: str
    ingredient: str
    max_mg: float
    # (reason shown to people, test on the context); no conditions means the cap always applies
    conditions: tuple[tuple[str, Callable[[Context], bool]], ...]
    source_ids: tuple[str, ...]


def _takes(ingredient: str) -> Callable[[Context], bool]:
    return lambda ctx: any(ingredient in r.drug.ingredients for r in ctx.others)


# Checked in order; the first cap that applies and is exceeded is reported.
DOSE_CAPS: tuple[DoseCap, ...] = (
    DoseCap(
        "citalopram-max-20",
        "citalopram",
        20,
        (
            ("the patient is over 60", lambda ctx: ctx.patient.age_years > 60),
            (
                "the patient is a CYP2C19 poor metaboliser",
                lambda ctx: ctx.patient.cyp2c19_poor_metaboliser is True,
            ),
            ("the patient has hepatic impairment", lambda ctx: ctx.patient.hepatic_impairment is True),
            ("the patient takes cimetidine", _takes("cimetidine")),
        ),
        ("citalopram-fda", "cpic-citalopram-cyp2c19"),
    ),
    DoseCap("citalopram-max-40", "citalopram", 40, (), ("citalopram-fda",)),
)


def dose_caps(ctx: Context) -> Iterator[Finding]:
    dose, drug = ctx.proposed.daily_dose_mg, ctx.drug
    if dose is None:
        return
    for cap in DOSE_CAPS:
        if cap.ingredient not in drug.ingredients:
            continue
        reasons = [reason for reason, test in cap.conditions if test(ctx)]
        if cap.conditions and not reasons:
            continue
        if dose > cap.max_mg:
            why = f" because {' and '.join(reasons)}" if reasons else ""
            yield _finding(
                cap.rule_id,
                "major",
                f"{_cap(drug.name)} above {format_mg(cap.max_mg)}/day",
                f"{format_mg(dose)}/day of {drug.name} is above the maximum of {format_mg(cap.max_mg)}/day"
                f"{why}: higher doses prolong the QT interval. Lower the dose or choose another drug.",
                _sources(cap.source_ids),
                (drug.key,),
            )
            return


def dose_range(ctx: Context) -> Iterator[Finding]:
    """A hint only: the usual ranges are unverified (clinical-facts.md §E)."""
    dose, drug = ctx.proposed.daily_dose_mg, ctx.drug
    if dose is None or drug.dose_max_mg is None or "mg" not in drug.units:
        return
    if any(cap.ingredient in drug.ingredients for cap in DOSE_CAPS) or dose <= drug.dose_max_mg:
        return
    low, high = drug.dose_min_mg, drug.dose_max_mg
    usual = format_mg(high) if low is None or low == high else f"{low:g}–{format_mg(high)}"
    note = f" {drug.dose_note}" if drug.dose_note else ""
    yield _finding(
        "dose-above-range",
        "moderate",
        f"{_cap(drug.name)} above the usual range",
        f"{format_mg(dose)}/day of {drug.name} is above the usual adult range of {usual}/day.{note} Check the "
        "dose; the range is a hint, not a limit.",
        (drug.source_for("dose") or ORG_ENTRY_SOURCE,),
        (drug.key,),
    )


# ---------------------------------------------------------------------------------------------
# Patient-specific prompts.

UNDER_AGE = 25


def antidepressant_under_25(ctx: Context) -> Iterator[Finding]:
    drug, age = ctx.drug, ctx.patient.age_years
    if not drug.antidepressant or age >= UNDER_AGE:
        return
    box = catalog.boxed_warning("antidepressant_suicidality")
    yield _finding(
        "antidepressant-under-25",
        "moderate",
        f"Closer monitoring: {drug.name} at age {age}",
        f'The patient is {age}. Boxed warning: "{box.text}" The risk is raised under 25, so after this '
        f"{ctx.proposed.change} plan closer follow-up for the first weeks: more frequent contact, a PHQ-9 "
        "(item 9 asks about thoughts of self-harm) or a C-SSRS screen, and ask the patient and family to report "
        "worsening mood, agitation or suicidal thoughts at once.",
        _sources(("antidepressant-box", "fluoxetine-age")),
        (drug.key,),
        override=False,
    )


# ingredient → (rule id, prompt when untested, source ids)
HLA_B1502: dict[str, tuple[str, bool, tuple[str, ...]]] = {
    "carbamazepine": ("hla-b1502-carbamazepine", True, ("carbamazepine-label",)),
    "lamotrigine": ("hla-b1502-lamotrigine", False, ("lamotrigine-label",)),
}


def hla_b1502(ctx: Context) -> Iterator[Finding]:
    if ctx.proposed.change not in NEW_EXPOSURE:
        return
    drug, status = ctx.drug, ctx.patient.hla_b1502_positive
    for ingredient, (rule_id, prompt_untested, source_ids) in HLA_B1502.items():
        if ingredient not in drug.ingredients:
            continue
        if status is True:
            yield _finding(
                rule_id,
                "major",
                f"HLA-B*1502 positive: {drug.name}",
                f"The patient carries HLA-B*1502, which the {ingredient} label links to SJS/TEN (serious skin "
                f"reactions). Choose another drug, or record why {drug.name} is needed and watch for rash.",
                _sources(source_ids),
                (drug.key,),
            )
        elif status is None and prompt_untested:
            yield _finding(
                rule_id,
                "moderate",
                f"HLA-B*1502 not recorded: {drug.name}",
                f"{_cap(ingredient)} can cause SJS/TEN, strongly associated with HLA-B*1502 in patients of "
                "Chinese ancestry and about 10 times more common in some Asian countries. Screen patients of "
                "at-risk ancestry before starting and record the result.",
                _sources(source_ids),
                (drug.key,),
            )


LAMOTRIGINE_RESUME_DAYS = 5  # a gap of more than this means re-titrating (2°)


def lamotrigine_start(ctx: Context) -> Iterator[Finding]:
    drug, proposed = ctx.drug, ctx.proposed
    if "lamotrigine" not in drug.ingredients or proposed.change not in NEW_EXPOSURE or ctx.same:
        return
    template = titration.lamotrigine_template(r.drug for r in ctx.others)
    first = template.first_daily_dose_mg
    stops = [r.end for r in ctx.stopped if "lamotrigine" in r.drug.ingredients and r.end is not None]
    gap = (ctx.today - max(stops)).days if stops else None
    if gap is not None and gap <= LAMOTRIGINE_RESUME_DAYS:
        return  # may resume the previous dose
    dose = proposed.daily_dose_mg
    if dose is not None and dose <= first:
        return
    retitrate = gap is not None or proposed.change == "restart"
    if gap is not None:
        why = f"It was stopped {gap} days ago, more than {LAMOTRIGINE_RESUME_DAYS} days: re-titrate from the start. "
    elif retitrate:
        why = (
            "The gap since the last dose is not recorded; after more than 5 days, re-titrate from the start. "
        )
    else:
        why = ""
    first_step = template.steps[0]
    step = f"{first_step.instruction} for {first_step.days} days"
    dose_text = f"{format_mg(dose)}/day is above the first step. " if dose is not None else ""
    yield _finding(
        "lamotrigine-retitrate" if retitrate else "lamotrigine-initial-dose",
        "major" if dose is not None else "info",
        f"{_cap(drug.name)}: start at the first titration step",
        f"{why}{dose_text}Exceeding the initial dose or the escalation rate raises the risk of serious rash. "
        f"Follow the {template.title.lower()}: {step}, then as scheduled.",
        _sources(("lamotrigine-label", *template.source_ids)),
        (drug.key,),
    )


@dataclass(frozen=True)
class MonitoringPrompt:
    rule_id: str
    monitoring: str  # a key of Drug.monitoring
    changes: frozenset[Change]
    title: str
    message: str  # {drug} is the drug's name
    source_ids: tuple[str, ...]
    due_in_days: int = 0
    on_start: str = ""  # added for a start or restart


MONITORING_PROMPTS: tuple[MonitoringPrompt, ...] = (
    MonitoringPrompt(
        "lithium-level",
        "lithium_level",
        ANY_CHANGE,
        "Lithium level in about 5 days",
        "Check a serum lithium level at steady state, about 5 days after this change, 12 hours after the last dose.",
        ("lithium-guideline",),
        due_in_days=5,
        on_start=" Before starting: full blood count, thyroid and renal function, calcium, urinalysis and a "
        "pregnancy test; then lithium monthly for 3 months and 6-monthly with creatinine and electrolytes.",
    ),
    MonitoringPrompt(
        "anc-monitoring",
        "anc",
        NEW_EXPOSURE,
        "ANC monitoring",
        "{drug} can cause severe neutropenia (boxed warning): check the ANC before starting and keep to a "
        "monitoring schedule. The classic schedule (baseline ANC at least 1500/µL; weekly for 6 months, every 2 "
        "weeks to 12 months, then monthly) is not confirmed against the current label. Since 24 February 2025 "
        "pharmacies no longer need ANC results before dispensing, so the team must track them.",
        ("clozapine-label", "clozapine-rems-ended", "clozapine-anc-schedule"),
    ),
    MonitoringPrompt(
        "metabolic-monitoring",
        "metabolic",
        NEW_EXPOSURE,
        "Metabolic monitoring",
        "Before {drug}: personal and family history, weight (BMI), waist, blood pressure, fasting glucose and "
        "lipids. Weight at 4, 8 and 12 weeks, then quarterly; blood pressure, glucose and lipids at 12 weeks, "
        "then yearly. Consider switching if weight rises 5% or more, or glucose or lipids worsen.",
        ("ada-apa-2004",),
    ),
    MonitoringPrompt(
        "liver-tests",
        "liver",
        NEW_EXPOSURE,
        "Liver tests",
        "{drug}: perform serum liver tests before starting and at frequent intervals after, especially in the "
        "first 6 months, when most cases of hepatotoxicity occur.",
        ("valproate-label",),
    ),
    MonitoringPrompt(
        "ecg-baseline",
        "ecg",
        NEW_EXPOSURE,
        "Baseline ECG",
        "Get an ECG before starting {drug}: the APA guideline asks for one before this antipsychotic.",
        ("apa-2020-ecg",),
    ),
)


def monitoring(ctx: Context) -> Iterator[Finding]:
    drug, change = ctx.drug, ctx.proposed.change
    for prompt in MONITORING_PROMPTS:
        if prompt.monitoring not in drug.monitoring or change not in prompt.changes:
            continue
        extra = prompt.on_start if change in ("start", "restart") else ""
        fact = drug.source_for(f"monitoring:{prompt.monitoring}")
        yield _finding(
            prompt.rule_id,
            "info",
            f"{prompt.title}: {drug.name}",
            _cap(prompt.message.format(drug=drug.name)) + extra,
            _sources(prompt.source_ids) + ((fact,) if fact else ()),
            (drug.key,),
            due=ctx.today + timedelta(days=prompt.due_in_days),
        )


def unchecked(ctx: Context) -> Iterator[Finding]:
    """Say which medicines the checks could not see, rather than stay silent about them."""
    blind = [d for d in (ctx.drug, *(r.drug for r in ctx.others)) if not d.checkable]
    if blind:
        names = ", ".join(d.name for d in blind)
        yield _finding(
            "unchecked-medicine",
            "info",
            "Not checked: " + names,
            f"Tandem cannot check {names}: a free-text entry has no class or ingredient to check against. Check "
            "interactions and doses yourself, or ask an administrator to add the medicine to the organisation's list.",
            (UNCHECKED_SOURCE,),
            tuple(d.key for d in blind),
        )


_CHECKS: tuple[Callable[[Context], Iterable[Finding]], ...] = (
    interactions,
    duplicates,
    dose_caps,
    dose_range,
    antidepressant_under_25,
    hla_b1502,
    lamotrigine_start,
    monitoring,
    unchecked,
)


# ---------------------------------------------------------------------------------------------
# Helpers and the rule list.


def _finding(
    rule_id: str,
    severity: Severity,
    title: str,
    message: str,
    sources: tuple[Source, ...],
    drugs: tuple[str, ...],
    *,
    due: date | None = None,
    override: bool | None = None,
) -> Finding:
    """Contraindicated and major findings need a reason to go ahead, unless the rule says otherwise."""
    needs_reason = severity in ("contraindicated", "major") if override is None else override
    unique = tuple(dict.fromkeys(sources))
    return Finding(rule_id, severity, title, message, unique, needs_reason, drugs, due)


def _sources(ids: Iterable[str]) -> tuple[Source, ...]:
    return tuple(catalog.source(i) for i in ids)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _rules() -> dict[str, RuleInfo]:
    def info(rule_id: str, title: str, severity: Severity, sources: Iterable[str | Source]) -> RuleInfo:
        found = tuple(s if isinstance(s, Source) else catalog.source(s) for s in sources)
        return RuleInfo(rule_id, title, severity, found)

    lamotrigine = ("lamotrigine-label", "lamotrigine-titration")
    infos = [info(i.rule_id, i.title, i.severity, i.source_ids) for i in INTERACTIONS]
    infos += [
        info(f"{i.rule_id}-washout", f"{i.title}: washout", i.severity, i.source_ids)
        for i in INTERACTIONS
        if i.washout
    ]
    infos += [info(c.rule_id, f"{_cap(c.ingredient)} dose cap", "major", c.source_ids) for c in DOSE_CAPS]
    infos += [info(p.rule_id, p.title, "info", p.source_ids) for p in MONITORING_PROMPTS]
    infos += [info(rule_id, "HLA-B*1502", "major", ids) for rule_id, _, ids in HLA_B1502.values()]
    infos += [
        info("duplicate-class", "Two drugs of the same class", "moderate", [DUPLICATE_SOURCE]),
        info("duplicate-ingredient", "The same medicine twice", "moderate", [DUPLICATE_SOURCE]),
        info("dose-above-range", "Dose above the usual range", "moderate", ["facts-e"]),
        info(
            "antidepressant-under-25",
            "Antidepressant under 25",
            "moderate",
            ["antidepressant-box", "fluoxetine-age"],
        ),
        info("lamotrigine-initial-dose", "Lamotrigine initial dose", "major", lamotrigine),
        info("lamotrigine-retitrate", "Lamotrigine re-titration", "major", lamotrigine),
        info("unchecked-medicine", "Medicine not checked", "info", [UNCHECKED_SOURCE]),
    ]
    return {i.id: i for i in infos}


RULES: dict[str, RuleInfo] = _rules()
