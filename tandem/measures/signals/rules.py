"""Treat-to-target rules, pure: a patient's PHQ-9 or GAD-7 totals over time, when treatment
started and since when the dose has been adequate → response, remission, reliable change, early
non-improvement and "needs case review", each with its reasoning in words, its inputs and its
source. No database, no clock.

Sources are cited from ../docs/clinical-facts.md (§B "Measurement-based care
rules"). A threshold §B marks as unverified or secondary is a setting (`Thresholds`) and its
SOURCES entry says so, so the pages can say so too.

How the series is read (Tandem's rules, not published ones; each is a setting or says why):

- Baseline: the last score on or before the start of treatment, or — when the first measurement
  came after the start — the first score (`baseline_index`).
- The clock of the time rules runs from the later of the treatment start and the baseline (a
  course measured only from week 6 is judged from week 6), and for early non-improvement from
  the later of the baseline and the day the dose became adequate ("after 2–4 weeks at an
  adequate dose", §B). Without any recorded treatment it runs from the baseline.
- The rules about improvement (response, early non-improvement, case review) need a baseline at
  or above the remission threshold: someone who started in remission cannot fall by half.
- Everything is judged at the latest score, not at today: a score that is overdue changes
  nothing until the next one comes in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any, Literal

_B = "clinical-facts.md §B Measurement-based care rules"
_HEDIS = "NCQA/HEDIS definitions as used by Psychiatric Services 2020, https://ps.psychiatryonline.org/doi/full/10.1176/appi.ps.201900295"

SOURCES: dict[str, str] = {
    "response": f"{_B} ✔: response = a fall of 50 % or more in PHQ-9 from baseline ({_HEDIS}). "
    "Applied to the GAD-7 in the same way (by analogy; not a published GAD-7 standard).",
    "remission.phq-9": f"{_B} ✔: remission = PHQ-9 below 5 ({_HEDIS}). Configurable: Thresholds.remission_below.",
    "remission.gad-7": f"{_B} (unverified as a formal standard): GAD-7 below 5, by analogy with the "
    "minimal band. Configurable: Thresholds.remission_below.",
    "reliable.phq-9": f"{_B} ✔: the minimal clinically important difference of the PHQ-9 for one "
    "patient is 5 points, two standard errors of measurement (Löwe 2004, Med Care 42:1194). "
    "Configurable: Thresholds.reliable_change (NHS Talking Therapies uses 6, a secondary source).",
    "reliable.gad-7": f"{_B} (2°, quoting the IAPT manual): reliable improvement on the GAD-7 = a fall "
    "of 4 or more. Configurable: Thresholds.reliable_change.",
    "deterioration": f"{_B} (unverified): a rise of the same size as reliable improvement is reliable "
    "deterioration (IAPT usage). Configurable: Thresholds.reliable_change.",
    "early": f"{_B} ✔ Szegedi 2009 (41 trials, early improvement = ≥ 20 % fall within 2 weeks predicts "
    "response) and Wagner 2017 (17 RCTs, sensitivity 85 %); ⇒ less than 20 % improvement after 2–4 "
    "weeks at an adequate dose triggers a review (a design inference in §B). Configurable: "
    "Thresholds.early_improvement, early_from_days.",
    "review": f"{_B} ✔ IMPACT (SAMHSA NREPP): patients who have not improved significantly 10–12 weeks "
    "after the start of treatment are reviewed with the team psychiatrist and the plan is changed; "
    "GermanIMPACT: improvement below 50 % → change medication or add sessions. Configurable: "
    "Thresholds.review_from_days (70 days = 10 weeks).",
    "baseline": "Tandem rule: the baseline is the last score on or before the start of treatment, or "
    "the first score when measurement began later; the improvement rules need a baseline at or "
    "above the remission threshold.",
}

State = Literal[
    "no_data",
    "baseline_only",
    "deterioration",
    "needs_case_review",
    "early_non_improvement",
    "remission",
    "response",
    "improving",
    "too_early",
    "on_track",
    "below_threshold",
]

# Worst first: the stored state is the first that applies; every finding is kept besides.
STATE_LABELS: dict[str, str] = {
    "deterioration": "Reliable deterioration",
    "needs_case_review": "Needs case review",
    "early_non_improvement": "Early non-improvement",
    "remission": "Remission",
    "response": "Response",
    "improving": "Reliable improvement",
    "on_track": "Improving, not yet a response",
    "too_early": "Too early to judge",
    "below_threshold": "Started below the remission threshold",
    "baseline_only": "Baseline only",
    "no_data": "No scores",
}
NOT_IMPROVING: frozenset[str] = frozenset({"deterioration", "needs_case_review", "early_non_improvement"})
INSTRUMENTS = ("phq-9", "gad-7")


@dataclass(frozen=True)
class Thresholds:
    """The settings of the rules for one instrument; defaults are §B's (see SOURCES)."""

    remission_below: int
    reliable_change: int
    response_fall: Fraction = Fraction(1, 2)
    early_improvement: Fraction = Fraction(1, 5)
    early_from_days: int = 14
    review_from_days: int = 70

    def __post_init__(self) -> None:
        if not 0 < self.response_fall <= 1 or not 0 < self.early_improvement <= 1:
            raise ValueError("response_fall and early_improvement must be fractions in (0, 1]")
        if self.reliable_change < 1 or self.remission_below < 1:
            raise ValueError("reliable_change and remission_below must be at least 1")
        if not 0 < self.early_from_days < self.review_from_days:
            raise ValueError("early_from_days must be positive and before review_from_days")


THRESHOLDS: dict[str, Thresholds] = {
    "phq-9": Thresholds(remission_below=5, reliable_change=5),  # SOURCES remission.phq-9, reliable.phq-9
    "gad-7": Thresholds(remission_below=5, reliable_change=4),  # SOURCES remission.gad-7, reliable.gad-7
}
# Which thresholds are settings because §B marks them unverified or secondary.
CONFIGURABLE_NOTE = {
    "phq-9": "thresholds are configurable; PHQ-9 remission and the 5-point change are §B ✔",
    "gad-7": "thresholds are configurable; GAD-7 remission < 5 is unverified and the 4-point change "
    "is from a secondary source (§B)",
}


@dataclass(frozen=True)
class Score:
    at: datetime
    total: int
    response_id: int | None = None


@dataclass(frozen=True)
class Finding:
    """One rule applied: whether it fired, why in words, what it read and where it comes from."""

    rule: str
    label: str
    fired: bool
    text: str
    source: str  # a key of SOURCES
    inputs: dict[str, Any] = field(default_factory=dict)
    configurable: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "label": self.label,
            "fired": self.fired,
            "text": self.text,
            "source": self.source,
            "inputs": self.inputs,
        }

    @property
    def cite(self) -> str:
        return SOURCES[self.source]


@dataclass(frozen=True)
class Assessment:
    instrument: str
    state: State
    findings: tuple[Finding, ...] = ()
    baseline: Score | None = None
    latest: Score | None = None
    clock_start: datetime | None = None
    days: int | None = None  # whole days from the clock start to the latest score
    inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def not_improving(self) -> bool:
        return self.state in NOT_IMPROVING

    def fired(self, rule: str) -> bool:
        return any(f.rule == rule and f.fired for f in self.findings)

    @property
    def change(self) -> int | None:
        if self.baseline is None or self.latest is None or self.state == "baseline_only":
            return None
        return self.latest.total - self.baseline.total

    @property
    def fall_percent(self) -> int | None:
        """Improvement from baseline in whole percent (negative: worse); None for a 0 baseline."""
        if (
            self.baseline is None
            or self.latest is None
            or self.baseline.total == 0
            or self.state == "baseline_only"
        ):
            return None
        return round(100 * (self.baseline.total - self.latest.total) / self.baseline.total)


def baseline_index(scores: Sequence[Score], treatment_start: datetime | None) -> int:
    """SOURCES["baseline"]: `scores` sorted by time, not empty."""
    if treatment_start is None:
        return 0
    before = [i for i, s in enumerate(scores) if s.at <= treatment_start]
    return before[-1] if before else 0


def _days(start: datetime, end: datetime) -> int:
    return (end - start) // timedelta(days=1)


def _pct(value: Fraction) -> str:
    return f"{float(value) * 100:g} %"


def assess(
    instrument: str,
    scores: Sequence[Score],
    *,
    treatment_start: datetime | None = None,
    adequate_dose_since: datetime | None = None,
    thresholds: Thresholds | None = None,
) -> Assessment:
    """Apply every rule at the latest score. `scores` may come in any order."""
    t = thresholds or THRESHOLDS[instrument]
    ordered = sorted(scores, key=lambda s: (s.at, s.response_id or 0))
    if not ordered:
        return Assessment(instrument, "no_data")
    b = baseline_index(ordered, treatment_start)
    baseline, latest = ordered[b], ordered[-1]
    name = instrument.upper()
    if len(ordered) - b < 2:
        text = f"Only the baseline {name} ({baseline.total}) so far: change needs a later score."
        return Assessment(
            instrument,
            "baseline_only",
            (Finding("baseline", "Baseline", False, text, "baseline", {"baseline": baseline.total}),),
            baseline,
            latest,
        )
    clock = max(treatment_start, baseline.at) if treatment_start else baseline.at
    early_clock = max(adequate_dose_since, baseline.at) if adequate_dose_since else clock
    days = _days(clock, latest.at)
    early_days = _days(early_clock, latest.at)
    change = latest.total - baseline.total
    fall = baseline.total - latest.total
    inputs = {  # what every finding reads; each finding lists its own extra inputs
        "baseline": baseline.total,
        "baseline_at": baseline.at.isoformat(),
        "latest": latest.total,
        "latest_at": latest.at.isoformat(),
    }
    findings: list[Finding] = []

    remission = latest.total < t.remission_below
    findings.append(
        Finding(
            "remission",
            "Remission",
            remission,
            f"Latest {name} {latest.total} is {'below' if remission else 'not below'} {t.remission_below}.",
            f"remission.{instrument}",
            {"latest": latest.total, "below": t.remission_below},
        )
    )
    improved = fall >= t.reliable_change
    worse = -fall >= t.reliable_change
    findings.append(
        Finding(
            "reliable_improvement",
            "Reliable improvement",
            improved,
            f"{name} fell {fall} points from the baseline {baseline.total} to {latest.total}; "
            f"{t.reliable_change} or more is a reliable improvement."
            if fall > 0
            else f"{name} has not fallen from the baseline {baseline.total} (now {latest.total}); a fall of "
            f"{t.reliable_change} or more is a reliable improvement.",
            f"reliable.{instrument}",
            {"change": change, "reliable_change": t.reliable_change},
        )
    )
    findings.append(
        Finding(
            "reliable_deterioration",
            "Reliable deterioration",
            worse,
            f"{name} rose {-fall} points from the baseline {baseline.total} to {latest.total}; a rise of "
            f"{t.reliable_change} or more is a reliable deterioration."
            if fall < 0
            else f"{name} has not risen from the baseline {baseline.total} (now {latest.total}).",
            "deterioration",
            {"change": change, "reliable_change": t.reliable_change},
        )
    )
    applies = baseline.total >= t.remission_below
    response = applies and fall * t.response_fall.denominator >= baseline.total * t.response_fall.numerator
    early = (
        applies
        and early_days >= t.early_from_days
        and days < t.review_from_days
        and fall * t.early_improvement.denominator < baseline.total * t.early_improvement.numerator
    )
    review = applies and days >= t.review_from_days and not response and not remission
    if not applies:
        note = (
            f"The baseline {name} ({baseline.total}) is below {t.remission_below}: the improvement rules "
            "(response, early improvement, case review) do not apply."
        )
        for rule, label, source in (
            ("response", "Response", "response"),
            ("early_non_improvement", "Early non-improvement", "early"),
            ("needs_case_review", "No response by 10–12 weeks", "review"),
        ):
            findings.append(Finding(rule, label, False, note, SOURCES[source], {}))
    else:
        percent = round(100 * fall / baseline.total)
        findings.append(
            Finding(
                "response",
                "Response",
                response,
                f"{name} {'fell' if fall >= 0 else 'rose'} {abs(percent)} % from the baseline "
                f"{baseline.total} to {latest.total}; a fall of {_pct(t.response_fall)} or more is a response.",
                "response",
                {"improvement_percent": percent, "response_fall": str(t.response_fall)},
            )
        )
        clock_words = (
            "at an adequate dose"
            if adequate_dose_since and early_clock == adequate_dose_since
            else "in treatment"
        )
        if early_days < t.early_from_days:
            early_text = (
                f"{early_days} days {clock_words} at the latest score: the early-improvement check starts "
                f"after {t.early_from_days} days."
            )
        elif days >= t.review_from_days:
            early_text = "Past the early window: the 10–12-week review rule applies instead."
        else:
            early_text = (
                f"After {early_days} days {clock_words}, {name} improved {percent} % (from {baseline.total} to "
                f"{latest.total}); less than {_pct(t.early_improvement)} is early non-improvement."
            )
        findings.append(
            Finding(
                "early_non_improvement",
                "Early non-improvement",
                early,
                early_text,
                "early",
                {
                    "days": early_days,
                    "clock": "adequate dose" if clock_words == "at an adequate dose" else "treatment start",
                    "clock_start": early_clock.isoformat(),
                    "improvement_percent": percent,
                    "early_improvement": str(t.early_improvement),
                    "from_days": t.early_from_days,
                },
            )
        )
        if days < t.review_from_days:
            review_text = (
                f"{days} days since the start of treatment at the latest score; the review rule applies from "
                f"{t.review_from_days} days (10 weeks)."
            )
        elif review:
            review_text = (
                f"{days} days ({days // 7} weeks) after the start of treatment {name} has improved {percent} %, "
                f"less than {_pct(t.response_fall)}, and is not in remission: bring to case review."
            )
        else:
            review_text = f"{days} days after the start of treatment: responded or in remission."
        findings.append(
            Finding(
                "needs_case_review",
                "No response by 10–12 weeks",
                review,
                review_text,
                "review",
                {"days": days, "clock_start": clock.isoformat(), "from_days": t.review_from_days},
            )
        )
    state: State
    if worse:
        state = "deterioration"
    elif review:
        state = "needs_case_review"
    elif early:
        state = "early_non_improvement"
    elif remission:
        state = "remission"
    elif response:
        state = "response"
    elif improved:
        state = "improving"
    elif not applies:
        state = "below_threshold"
    elif early_days < t.early_from_days:
        state = "too_early"
    else:
        state = "on_track"
    return Assessment(instrument, state, tuple(findings), baseline, latest, clock, days, inputs)
