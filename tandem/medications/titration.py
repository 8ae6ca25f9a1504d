"""Titration and taper schedules as dated steps.

A step runs from `from_date` to `to_date`, both inclusive; the last step of a titration has no
`to_date` (the target dose continues). `daily_dose_mg` is the average per day, so "25 mg every
other day" is 12.5 — what adherence and dose checks need — while `instruction` says what to take.
Templates are data with their source; a schedule is a template laid from a start date.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from tandem.medications import catalog
from tandem.medications.catalog import Drug, Source

MAX_TAPER_STEPS = 366


class Step(NamedTuple):
    from_date: date
    to_date: date | None
    daily_dose_mg: float
    instruction: str


@dataclass(frozen=True)
class StepSpec:
    days: int | None  # None: the open-ended last step
    daily_dose_mg: float
    instruction: str


@dataclass(frozen=True)
class Template:
    key: str
    title: str
    steps: tuple[StepSpec, ...]
    source_ids: tuple[str, ...]

    @property
    def sources(self) -> tuple[Source, ...]:
        return tuple(catalog.source(s) for s in self.source_ids)

    @property
    def first_daily_dose_mg(self) -> float:
        return self.steps[0].daily_dose_mg

    def schedule(self, start: date) -> list[Step]:
        result, day = [], start
        for spec in self.steps:
            end = None if spec.days is None else day + timedelta(days=spec.days - 1)
            result.append(Step(day, end, spec.daily_dose_mg, spec.instruction))
            if end is None:
                break
            day = end + timedelta(days=1)
        return result


# Bipolar titration, clinical-facts.md §D (label table, 2°): weeks 1–2, 3–4, 5, then the target.
LAMOTRIGINE_STANDARD = Template(
    "lamotrigine-standard",
    "Lamotrigine titration (bipolar disorder)",
    (
        StepSpec(14, 25, "25 mg a day"),
        StepSpec(14, 50, "50 mg a day"),
        StepSpec(7, 100, "100 mg a day"),
        StepSpec(None, 200, "200 mg a day (target)"),
    ),
    ("lamotrigine-titration",),
)
LAMOTRIGINE_WITH_VALPROATE = Template(
    "lamotrigine-with-valproate",
    "Lamotrigine titration with valproate",
    (
        StepSpec(14, 12.5, "25 mg every other day"),
        StepSpec(14, 25, "25 mg a day"),
        StepSpec(7, 50, "50 mg a day"),
        StepSpec(None, 100, "100 mg a day (target)"),
    ),
    ("lamotrigine-titration", "lamotrigine-label"),
)
# "Roughly double doses, target 300–400 mg/day" (2°): the doubled table, then 300 mg.
LAMOTRIGINE_WITH_ENZYME_INDUCER = Template(
    "lamotrigine-with-enzyme-inducer",
    "Lamotrigine titration with an enzyme inducer (such as carbamazepine)",
    (
        StepSpec(14, 50, "50 mg a day"),
        StepSpec(14, 100, "100 mg a day"),
        StepSpec(7, 200, "200 mg a day"),
        StepSpec(None, 300, "300 mg a day, up to 400 mg a day (target)"),
    ),
    ("lamotrigine-titration",),
)
TEMPLATES = {
    t.key: t for t in (LAMOTRIGINE_STANDARD, LAMOTRIGINE_WITH_VALPROATE, LAMOTRIGINE_WITH_ENZYME_INDUCER)
}


def lamotrigine(
    start: date, *, with_valproate: bool = False, with_enzyme_inducer: bool = False
) -> list[Step]:
    """With both valproate and an inducer, the slower valproate schedule is used (the lower rash risk)."""
    if with_valproate:
        return LAMOTRIGINE_WITH_VALPROATE.schedule(start)
    if with_enzyme_inducer:
        return LAMOTRIGINE_WITH_ENZYME_INDUCER.schedule(start)
    return LAMOTRIGINE_STANDARD.schedule(start)


def lamotrigine_template(concurrent: Iterable[Drug]) -> Template:
    """The template that fits the drugs taken alongside lamotrigine."""
    drugs = list(concurrent)
    if any("valproate" in d.ingredients for d in drugs):
        return LAMOTRIGINE_WITH_VALPROATE
    if any(d.enzyme_inducer for d in drugs):
        return LAMOTRIGINE_WITH_ENZYME_INDUCER
    return LAMOTRIGINE_STANDARD


def taper(start: date, from_mg: float, to_mg: float, step_mg: float, every_days: int) -> list[Step]:
    """Lower the daily dose from `from_mg` by `step_mg` every `every_days` days until `to_mg`.

    `start` is the day of the first reduction. The last step is clamped to `to_mg` and open-ended;
    a taper to 0 ends with a "Stop" step.
    """
    if not (from_mg > to_mg >= 0):
        raise ValueError("a taper needs from_mg > to_mg >= 0")
    if step_mg <= 0 or every_days < 1:
        raise ValueError("a taper needs step_mg > 0 and every_days >= 1")
    count = math.ceil(round((from_mg - to_mg) / step_mg, 9))
    if count > MAX_TAPER_STEPS:
        raise ValueError(f"a taper of more than {MAX_TAPER_STEPS} steps; use a larger step")
    steps = []
    for i in range(count):
        dose = max(round(from_mg - (i + 1) * step_mg, 6), to_mg)
        begins = start + timedelta(days=i * every_days)
        last = i == count - 1
        ends = None if last else begins + timedelta(days=every_days - 1)
        steps.append(Step(begins, ends, dose, "Stop" if dose == 0 else f"{format_mg(dose)} a day"))
    return steps


def format_mg(value: float) -> str:
    return f"{value:g} mg"
