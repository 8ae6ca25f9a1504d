"""Duplicate therapy."""

from __future__ import annotations

from collections.abc import Iterator

from tandem.medications.rules.helpers import _cap, _finding
from tandem.medications.rules.model import DUPLICATE_SOURCE, Context, Finding

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
