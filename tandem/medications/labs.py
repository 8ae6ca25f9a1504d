"""Lab kinds and their thresholds, as data with sources; pure evaluation (no database).

Every kind has its units (each with the factor to the kind's canonical unit, the first listed), a
plausible range that refuses typos, and the cuts that flag a result. Each cut cites its source and
how sure that source is (clinical-facts.md §D). Cuts that clinical-facts.md does not give are
general reference values, marked unverified: laboratories' ranges differ. Every cut can be
changed or switched off per deployment and per organisation through `settings.LAB_THRESHOLDS`
(see `thresholds`), and the page shows which were changed.

Unit factors are general chemistry (mEq/L = mmol/L for a monovalent ion; creatinine 88.4 µmol/L
per mg/dL; glucose 18.016, cholesterol 38.67 and triglycerides 88.57 mg/dL per mmol/L).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from tandem.medications import catalog
from tandem.medications.catalog import Source

Level = Literal["normal", "low", "high", "critical"]
LEVELS: tuple[Level, ...] = ("normal", "low", "high", "critical")
Op = Literal["<", "<=", ">", ">="]
CUT_KEYS: dict[str, tuple[Level, Op]] = {  # override key → (level, comparison used for a new cut)
    "critical_low": ("critical", "<"),
    "critical_high": ("critical", ">"),
    "low": ("low", "<"),
    "high": ("high", ">"),
    "gain": ("high", ">="),  # percent above the baseline (weight)
}
DEFAULT_TARGET = "default"

# Sources that are not in the drug catalogue's list.
LITHIUM_OLD_LABEL = Source(
    "Older (non-PLR) lithium label, quoted: acute mania 1.0–1.5 mEq/L, long-term 0.6–1.2 mEq/L, trough "
    "8–12 h after the dose; current PLR labels give other targets (clinical-facts.md §D)",
    "https://www.droracle.ai/articles/79148/what-is-the-typical-dosing-for-lithium-lithium-carbonate",
    "secondary",
)
APA_2020 = Source(
    "APA 2020 schizophrenia guideline: BMI every visit for 6 months then at least quarterly; glucose or "
    "HbA1c and lipids 4 months after starting, then annually (clinical-facts.md §D)",
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC7725154/table/T1",
    "verified",
)
GENERAL = Source(
    "General clinical reference value, not in clinical-facts.md: laboratories' reference ranges differ; "
    "set your own in LAB_THRESHOLDS",
    None,
    "unverified",
)
DERIVED_LITHIUM_CRITICAL = Source(
    "Tandem's choice: above the top of the older label's acute-mania range (1.0–1.5 mEq/L, secondary); "
    "the boxed warning says toxicity can occur close to therapeutic concentrations (clinical-facts.md §D)",
    None,
    "unverified",
)


class LabInputError(ValueError):
    """Bad input; `field` names what was wrong (kind, value or unit)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Unit:
    name: str
    factor: Decimal  # value in this unit × factor = value in the kind's canonical unit
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class LabKind:
    key: str
    label: str
    units: tuple[Unit, ...]  # the first is the canonical unit, in which cuts are written
    plausible: tuple[Decimal, Decimal]  # canonical unit, inclusive; outside is a typo

    @property
    def canonical(self) -> str:
        return self.units[0].name

    def unit(self, text: str) -> Unit | None:
        wanted = _unit_key(text)
        for unit in self.units:
            if wanted in {_unit_key(unit.name), *(_unit_key(a) for a in unit.aliases)}:
                return unit
        return None


@dataclass(frozen=True)
class Cut:
    """Flags a result `level` when `value <op> this.value` (canonical unit), or, for "gain", when
    the result is at least `value` percent above the baseline."""

    key: str
    level: Level
    op: Op
    value: Decimal
    why: str  # what the limit is, in words ("the top of the maintenance range")
    source: Source
    overridden: bool = False

    def matches(self, amount: Decimal, baseline: Decimal | None) -> bool:
        if self.key == "gain":
            if baseline is None or baseline <= 0:
                return False
            return _compare((amount - baseline) * 100 / baseline, self.op, self.value)
        return _compare(amount, self.op, self.value)


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    reference: str  # the range people read, e.g. "0.4–0.8 mmol/L"
    cuts: tuple[Cut, ...]


@dataclass(frozen=True)
class Note:
    """Reference information shown with a kind; it never flags a result."""

    text: str
    source: Source


@dataclass(frozen=True)
class Thresholds:
    kind: LabKind
    target: Target
    cuts: tuple[Cut, ...]  # most severe first
    notes: tuple[Note, ...]
    targets: tuple[str, ...]  # every target this kind knows
    overridden: bool

    def describe(self, cut: Cut) -> str:
        if cut.key == "gain":
            return f"{_OP_WORDS[cut.op]} {fmt(cut.value)}% above the baseline"
        return f"{_OP_WORDS[cut.op]} {quantity(cut.value, self.kind.canonical)}"


@dataclass(frozen=True)
class LabFlag:
    level: Level
    message: str
    source: Source | None  # the cut's source; for "normal", the reference range's
    rule_id: str = ""
    cut: Cut | None = None

    @property
    def out_of_range(self) -> bool:
        return self.level != "normal"


_OP_WORDS = {"<": "below", "<=": "at or below", ">": "above", ">=": "at or above"}
_SEVERITY_ORDER = {"critical": 0, "high": 1, "low": 1, "normal": 2}


def _u(name: str, factor: str = "1", *aliases: str) -> Unit:
    return Unit(name, Decimal(factor), aliases)


def _range(low: str, high: str) -> tuple[Decimal, Decimal]:
    return Decimal(low), Decimal(high)


def _cut(key: str, value: str, why: str, source: Source, op: Op | None = None) -> Cut:
    level, default_op = CUT_KEYS[key]
    return Cut(key, level, op or default_op, Decimal(value), why, source)


def _src(source_id: str) -> Source:
    return catalog.source(source_id)


MMOL = _u("mmol/L", "1")
MEQ = _u("mEq/L", "1")
UG_ML = _u("µg/mL", "1", "ug/mL", "mcg/mL")
MG_L = _u("mg/L", "1")
MG_DL = _u("mg/dL", "1")
U_L = _u("U/L", "1", "IU/L")
PER_UL = _u("/µL", "1", "cells/µL", "cells/mm3", "/mm3")
GIGA_L = _u("×10⁹/L", "1", "10^9/L", "G/L")
CHOLESTEROL_MMOL = _u("mmol/L", "38.67")

KINDS: dict[str, LabKind] = {
    k.key: k
    for k in (
        LabKind("lithium_level", "Lithium level", (MMOL, MEQ), _range("0", "5")),
        LabKind("valproate_level", "Valproate level", (UG_ML, MG_L), _range("0", "400")),
        LabKind("carbamazepine_level", "Carbamazepine level", (UG_ML, MG_L), _range("0", "60")),
        LabKind(
            "anc",
            "Absolute neutrophil count (ANC)",
            (PER_UL, replace(GIGA_L, factor=Decimal(1000))),
            _range("0", "100000"),
        ),
        LabKind(
            "platelets", "Platelets", (GIGA_L, _u("×10³/µL", "1", "10^3/µL", "K/µL")), _range("0", "3000")
        ),
        LabKind("creatinine", "Creatinine", (MG_DL, _u("µmol/L", "0.0113122")), _range("0.05", "30")),
        LabKind("egfr", "eGFR", (_u("mL/min/1.73 m²", "1", "mL/min/1.73m2", "mL/min"),), _range("0", "250")),
        LabKind("tsh", "TSH", (_u("mIU/L", "1", "mU/L"), _u("µIU/mL", "1", "µU/mL")), _range("0", "500")),
        LabKind("sodium", "Sodium", (MMOL, MEQ), _range("90", "200")),
        LabKind("calcium", "Calcium", (MG_DL, _u("mmol/L", "4.008")), _range("2", "25")),
        LabKind("alt", "ALT", (U_L,), _range("0", "20000")),
        LabKind("ast", "AST", (U_L,), _range("0", "20000")),
        LabKind("total_cholesterol", "Total cholesterol", (MG_DL, CHOLESTEROL_MMOL), _range("20", "1500")),
        LabKind("ldl", "LDL cholesterol", (MG_DL, CHOLESTEROL_MMOL), _range("0", "1000")),
        LabKind("hdl", "HDL cholesterol", (MG_DL, CHOLESTEROL_MMOL), _range("0", "300")),
        LabKind("triglycerides", "Triglycerides", (MG_DL, _u("mmol/L", "88.57")), _range("0", "15000")),
        LabKind("hba1c", "HbA1c", (_u("%", "1"),), _range("2", "20")),
        LabKind("fasting_glucose", "Fasting glucose", (MG_DL, _u("mmol/L", "18.016")), _range("10", "1500")),
        LabKind("weight", "Weight", (_u("kg", "1"), _u("lb", "0.45359237", "lbs")), _range("1", "500")),
        LabKind("bmi", "BMI", (_u("kg/m²", "1", "kg/m2"),), _range("8", "150")),
        LabKind(
            "waist", "Waist circumference", (_u("cm", "1"), _u("in", "2.54", "inch")), _range("20", "300")
        ),
        LabKind("bp_systolic", "Blood pressure, systolic", (_u("mmHg", "1"),), _range("40", "300")),
        LabKind("bp_diastolic", "Blood pressure, diastolic", (_u("mmHg", "1"),), _range("20", "200")),
        LabKind("qtc", "QTc", (_u("ms", "1", "msec"),), _range("200", "800")),
    )
}


@dataclass(frozen=True)
class Test:
    """What a monitoring schedule asks for (a MonitoringDue kind) and the lab kinds that answer it."""

    key: str
    label: str
    lab_kinds: tuple[str, ...]


TESTS: dict[str, Test] = {
    t.key: t
    for t in (
        Test("lithium_level", "Lithium level", ("lithium_level",)),
        Test("valproate_level", "Valproate level", ("valproate_level",)),
        Test("carbamazepine_level", "Carbamazepine level", ("carbamazepine_level",)),
        Test("anc", "Absolute neutrophil count (ANC)", ("anc",)),
        Test("cbc", "Full blood count with platelets", ("anc", "platelets")),
        Test("renal", "Renal function (creatinine, eGFR)", ("creatinine", "egfr")),
        Test("thyroid", "Thyroid function (TSH)", ("tsh",)),
        Test("calcium", "Calcium", ("calcium",)),
        Test("sodium", "Sodium", ("sodium",)),
        Test("liver", "Liver tests (ALT, AST)", ("alt", "ast")),
        Test("weight", "Weight (BMI)", ("weight", "bmi")),
        Test("waist", "Waist circumference", ("waist",)),
        Test("blood_pressure", "Blood pressure", ("bp_systolic", "bp_diastolic")),
        Test("glucose", "Fasting glucose or HbA1c", ("fasting_glucose", "hba1c")),
        Test("lipids", "Fasting lipids", ("total_cholesterol", "ldl", "hdl", "triglycerides")),
        Test("ecg", "ECG (QTc)", ("qtc",)),
    )
}


def tests_answered_by(kind: str) -> tuple[str, ...]:
    """The monitoring tests a result of lab `kind` answers."""
    return tuple(t.key for t in TESTS.values() if kind in t.lab_kinds)


def test_label(key: str) -> str:
    test = TESTS.get(key)
    return test.label if test else key.replace("_", " ")


# ---------------------------------------------------------------------------------------------
# Thresholds: the defaults, then the overrides from settings.


_DEFAULTS: dict[str, tuple[tuple[Target, ...], tuple[Note, ...]]] | None = None


def defaults() -> Mapping[str, tuple[tuple[Target, ...], tuple[Note, ...]]]:
    global _DEFAULTS
    if _DEFAULTS is None:
        from tandem.medications.lab_defaults import default_thresholds

        _DEFAULTS = default_thresholds()
    return _DEFAULTS


def thresholds(kind: str, organisation: Any = None, *, target: str | None = None) -> Thresholds:
    """The thresholds in force for `kind`: the defaults, then `settings.LAB_THRESHOLDS`.

    LAB_THRESHOLDS = {
        "lithium_level": {"target": "acute", "high": "1.1", "source": "Riverside lithium protocol"},
        "alt": {"high": None},  # switch a cut off
        "organisations": {"riverside": {"anc": {"low": "1000"}}},  # by slug or id, applied last
    }
    A kind's keys are "target", "source" (shown as the changed cuts' source) and the cuts:
    low, high, critical_low, critical_high (canonical unit) and, for weight, gain (percent).
    A bad entry raises ImproperlyConfigured naming it. `target` chooses a target for this call.
    """
    if kind not in KINDS:
        raise KeyError(kind)
    targets, notes = defaults()[kind]
    overrides = [*_overrides_for(kind, organisation)]
    chosen = target
    for where, entry in reversed(overrides):  # the organisation's choice before the deployment's
        if chosen is None and "target" in entry:
            chosen = str(entry["target"])
            if chosen not in {t.key for t in targets}:
                raise ImproperlyConfigured(f"{where}: unknown target {chosen!r}")
    base = next((t for t in targets if t.key == chosen), None) if chosen else targets[0]
    if base is None:
        raise KeyError(f"{kind} has no target {chosen!r}")
    cuts = {c.key: c for c in base.cuts}
    for where, entry in overrides:
        unknown = set(entry) - {"target", "source", *CUT_KEYS}
        if unknown:
            raise ImproperlyConfigured(f"{where}: unknown key {sorted(unknown)[0]!r}")
        if "gain" in entry and kind != "weight":
            raise ImproperlyConfigured(f"{where}: 'gain' applies to weight only")
        source = Source(f"Local setting: {entry.get('source') or 'LAB_THRESHOLDS'}", None, "unverified")
        for key in CUT_KEYS:
            if key not in entry:
                continue
            if entry[key] is None:
                cuts.pop(key, None)
                continue
            value = _decimal(entry[key], where, key)
            old = cuts.get(key)
            level, op = CUT_KEYS[key]
            why = "the local limit"
            cuts[key] = Cut(key, level, old.op if old else op, value, why, source, overridden=True)
    ordered = tuple(
        sorted(cuts.values(), key=lambda c: (_SEVERITY_ORDER[c.level], list(CUT_KEYS).index(c.key)))
    )
    return Thresholds(
        kind=KINDS[kind],
        target=base,
        cuts=ordered,
        notes=notes,
        targets=tuple(t.key for t in targets),
        overridden=any(c.overridden for c in ordered),
    )


def _overrides_for(kind: str, organisation: Any) -> list[tuple[str, Mapping[str, Any]]]:
    configured = getattr(settings, "LAB_THRESHOLDS", None) or {}
    if not isinstance(configured, Mapping):
        raise ImproperlyConfigured("LAB_THRESHOLDS must be a dict")
    for key in configured:
        if key != "organisations" and key not in KINDS:
            raise ImproperlyConfigured(f"LAB_THRESHOLDS: unknown lab kind {key!r}")
    found = []
    if kind in configured:
        found.append((f"LAB_THRESHOLDS[{kind!r}]", configured[kind]))
    by_org = configured.get("organisations") or {}
    if organisation is not None and by_org:
        names = [str(getattr(organisation, "pk", organisation))]
        if getattr(organisation, "slug", None):
            names.insert(0, organisation.slug)
        for name in names:
            entry = (by_org.get(name) or {}).get(kind)
            if entry is not None:
                found.append((f"LAB_THRESHOLDS['organisations'][{name!r}][{kind!r}]", entry))
                break
    for where, entry in found:
        if not isinstance(entry, Mapping):
            raise ImproperlyConfigured(f"{where} must be a dict")
    return found


def _decimal(value: Any, where: str, key: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ImproperlyConfigured(f"{where}[{key!r}]: {value!r} is not a number") from None
    if not number.is_finite():
        raise ImproperlyConfigured(f"{where}[{key!r}]: {value!r} is not a number")
    return number


# ---------------------------------------------------------------------------------------------
# Input and evaluation.


def clean(kind: str, value: Any, unit: str) -> tuple[LabKind, Unit, Decimal]:
    """The kind, the unit and the value of a result as entered, or LabInputError naming the field."""
    lab = KINDS.get(kind)
    if lab is None:
        raise LabInputError("kind", "choose one of the listed lab tests")
    matched = lab.unit(unit or "")
    if matched is None:
        raise LabInputError("unit", f"{lab.label} is recorded in {', '.join(u.name for u in lab.units)}")
    text = str(value).strip() if value is not None else ""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite():
        raise LabInputError(
            "value", "enter a number, like 0.6 (a point for decimals, no thousands separator)"
        )
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -3:
        raise LabInputError("value", "use at most 3 decimal places")
    low, high = lab.plausible
    canonical = amount * matched.factor
    if not low <= canonical <= high:
        raise LabInputError(
            "value",
            f"{quantity(amount, matched.name)} is not a plausible {lab.label.lower()}: enter a value from "
            f"{fmt(_round(low / matched.factor))} to {quantity(_round(high / matched.factor), matched.name)}",
        )
    return lab, matched, amount


def evaluate(
    kind: str,
    value: Any,
    unit: str,
    *,
    organisation: Any = None,
    target: str | None = None,
    baseline: tuple[Any, str] | None = None,
) -> LabFlag:
    """Flag one result against the thresholds in force. `baseline` (value, unit) is the reference a
    relative cut compares with (weight gain). Bad input raises LabInputError, as `clean` does."""
    lab, matched, amount = clean(kind, value, unit)
    rules = thresholds(kind, organisation, target=target)
    canonical = amount * matched.factor
    base = None
    if baseline is not None:
        _, base_unit, base_amount = clean(kind, baseline[0], baseline[1])
        base = base_amount * base_unit.factor
    shown = f"{lab.label} {quantity(amount, matched.name)}"
    scope = f", against the {rules.target.label} target" if rules.target.label else ""
    for cut in rules.cuts:
        if not cut.matches(canonical, base):
            continue
        if cut.key == "gain" and base is not None:
            gain = (canonical - base) * 100 / base
            what = f"{fmt(_round(gain, 1))}% above the baseline of {quantity(_round(base / matched.factor), matched.name)}"
        else:
            what = rules.describe(cut)
        return LabFlag(
            level=cut.level,
            message=f"{shown} is {what} ({cut.why}){scope}.",
            source=cut.source,
            rule_id=rule_id(kind, rules.target.key, cut.key),
            cut=cut,
        )
    if not rules.cuts:
        return LabFlag(
            "normal", f"{shown}: no alert threshold is set (reference: {rules.target.reference}).", None
        )
    if base is None and all(c.key == "gain" for c in rules.cuts):
        return LabFlag(
            "normal",
            f"{shown}: no baseline to compare with ({rules.target.reference}).",
            rules.cuts[0].source,
        )
    source = next((c.source for c in rules.cuts if c.level != "critical"), rules.cuts[0].source)
    return LabFlag(
        "normal", f"{shown} is within the reference range, {rules.target.reference}{scope}.", source
    )


def rule_id(kind: str, target: str, cut: str) -> str:
    middle = "" if target == DEFAULT_TARGET else f"-{target}"
    return f"lab-{kind}{middle}-{cut}".replace("_", "-")


def cite(source: Source | None) -> str:
    """A source as one line: citation, address and how sure it is."""
    if source is None:
        return ""
    where = f" {source.url}" if source.url else ""
    return f"{source.citation}{where} [{CONFIDENCE_LABELS[source.confidence]}]"


CONFIDENCE_LABELS = {
    "verified": "✔ verified",
    "secondary": "secondary source (2°)",
    "unverified": "unverified",
}


def fmt(value: Decimal) -> str:
    """A decimal as people write it: 0.8, 125, 1500 (never 1.5E+3)."""
    return format(value.normalize(), "f")


def quantity(value: Decimal, unit: str) -> str:
    """0.8 mmol/L, 1500/µL, 6.5%."""
    gap = "" if unit.startswith("/") or unit == "%" else " "
    return f"{fmt(value)}{gap}{unit}"


def _round(value: Decimal, places: int = 2) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places)).normalize()


def _compare(amount: Decimal, op: Op, limit: Decimal) -> bool:
    if op == "<":
        return amount < limit
    if op == "<=":
        return amount <= limit
    if op == ">":
        return amount > limit
    return amount >= limit


def _unit_key(text: str) -> str:
    """A unit as typed, reduced so that µg/mL, ug/ml and mcg/mL compare equal."""
    key = text.strip().casefold().replace(" ", "")
    for old, new in (
        ("μ", "u"),
        ("µ", "u"),
        ("mcg", "ug"),
        ("×", "x"),
        ("⁹", "9"),
        ("³", "3"),
        ("^", ""),
        ("²", "2"),
    ):
        key = key.replace(old, new)
    return re.sub(r"^x(?=10)", "", key)
