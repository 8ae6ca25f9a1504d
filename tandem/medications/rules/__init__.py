"""Prescribing checks: pure rules over a proposed change and the patient's regimens.

`check()` is the one entry point. It never decides: every Finding says what and why, what to do,
and cites its sources with their confidence (clinical-facts.md). Interaction pairs, duplicate
classes, dose caps and monitoring prompts are tables; the functions below only read them. Every
rule id is listed in RULES, so an organisation can switch off a rule whose facts it has not
confirmed (`disabled`), and an override can be recorded against the id.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import date

from tandem.medications import catalog
from tandem.medications.catalog import Source
from tandem.medications.rules.doses import DOSE_CAPS, dose_caps, dose_range
from tandem.medications.rules.duplicates import duplicates
from tandem.medications.rules.helpers import _cap
from tandem.medications.rules.interactions import INTERACTIONS, interactions
from tandem.medications.rules.model import (
    ANY_CHANGE,
    DUPLICATE_SOURCE,
    NEW_EXPOSURE,
    ORG_ENTRY_SOURCE,
    SEVERITIES,
    UNCHECKED_SOURCE,
    ActiveRegimen,
    Change,
    Context,
    Finding,
    PatientFacts,
    ProposedRegimen,
    RuleInfo,
    Severity,
)
from tandem.medications.rules.prompts import (
    HLA_B1502,
    MONITORING_PROMPTS,
    antidepressant_under_25,
    hla_b1502,
    lamotrigine_start,
    monitoring,
    unchecked,
)


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


__all__ = [
    "ANY_CHANGE",
    "DOSE_CAPS",
    "DUPLICATE_SOURCE",
    "HLA_B1502",
    "INTERACTIONS",
    "MONITORING_PROMPTS",
    "NEW_EXPOSURE",
    "ORG_ENTRY_SOURCE",
    "RULES",
    "SEVERITIES",
    "UNCHECKED_SOURCE",
    "ActiveRegimen",
    "Change",
    "Context",
    "Finding",
    "PatientFacts",
    "ProposedRegimen",
    "RuleInfo",
    "Severity",
    "antidepressant_under_25",
    "check",
    "dose_caps",
    "dose_range",
    "duplicates",
    "hla_b1502",
    "interactions",
    "lamotrigine_start",
    "monitoring",
    "unchecked",
]
