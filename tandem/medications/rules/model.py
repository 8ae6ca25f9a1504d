"""The inputs and outputs of the prescribing checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from tandem.medications import catalog
from tandem.medications.catalog import Drug, Source

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
