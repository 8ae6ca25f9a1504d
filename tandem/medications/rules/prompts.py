"""Patient-specific prompts: age, HLA-B*1502, lamotrigine titration, monitoring, unchecked medicines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from tandem.medications import catalog, titration
from tandem.medications.rules.helpers import _cap, _finding, _sources
from tandem.medications.rules.model import (
    ANY_CHANGE,
    NEW_EXPOSURE,
    UNCHECKED_SOURCE,
    Change,
    Context,
    Finding,
)
from tandem.medications.titration import format_mg

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
