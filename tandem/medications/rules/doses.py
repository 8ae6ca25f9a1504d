"""Doses: caps and the usual range."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tandem.medications.rules.helpers import _cap, _finding, _sources
from tandem.medications.rules.model import ORG_ENTRY_SOURCE, Context, Finding
from tandem.medications.titration import format_mg

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
