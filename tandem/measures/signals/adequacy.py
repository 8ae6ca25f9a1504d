"""Was the treatment adequate? For a patient who is not improving, this tells non-response
("not responding: consider a change of treatment") from under-treatment ("not yet adequately
treated: address adherence or engagement first"). Pure: the caller reads the facts.

Four parts, each adequate, inadequate, unknown (and why: what is missing — nothing is guessed)
or not applicable:

- dose: every medication taken at set times is at or above the lower end of its usual adult
  daily dose (catalogue, clinical-facts.md §E, unverified: a setting);
- dose adherence: doses taken ÷ doses scheduled over the last 28 days ≥ 80 % (a product setting
  by analogy with PQA's 80 %, not in §F), from the patient's dose log;
- PDC: the PQA proportion of days covered ≥ 80 % for each drug class taken (§F ✔), from fills;
- session attendance: attended ÷ (attended + no-show + late-cancelled) ≥ 75 % once 4 sessions
  count (Tandem's attendance rule, tandem/therapy/rules.py; clinic policy, not published).

Medication adherence is judged from whichever of dose adherence and PDC is known: one known and
adequate is enough when the other is missing (Tandem's rule: dose logging is optional and PDC
needs 91 days of fills), and the missing one is named. Medication parts apply when the patient
takes a medication at set times; attendance when they have therapy sessions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from tandem.medications.adherence import SOURCES as ADHERENCE_SOURCES
from tandem.therapy.rules import ATTENDANCE_MIN_COUNTABLE, ATTENDANCE_THRESHOLD
from tandem.therapy.rules import SOURCES as THERAPY_SOURCES

Status = Literal["adequate", "inadequate", "unknown", "not_applicable"]
Verdict = Literal["adequate", "inadequate", "unknown", "no_treatment"]

SOURCES: dict[str, str] = {
    "dose": "clinical-facts.md §E (unverified): the lower end of the typical adult daily dose from the "
    "medication catalogue; §E says to treat these ranges as hints, not rules. Configurable: "
    "AdequacyRules.dose_floor.",
    "dose_adherence": "Product setting, not in clinical-facts.md §F: at least 80 % of the scheduled doses "
    "of the last 28 days recorded as taken, by analogy with the PQA PDC threshold (§F). Configurable: "
    "AdequacyRules.dose_adherence, dose_window_days.",
    "pdc": ADHERENCE_SOURCES["pdc_threshold"],
    "attendance": THERAPY_SOURCES["attendance"] + " Configurable: AdequacyRules.attendance.",
    "either_adherence": "Tandem rule: medication adherence is judged from the dose log, PDC or both; one "
    "known measure is enough when the other is missing, and every known one must be adequate.",
}

VERDICT_TEXT: dict[str, str] = {
    "adequate": "Not responding: consider a change of treatment",
    "inadequate": "Not yet adequately treated: address adherence or engagement first",
    "unknown": "Adequacy of treatment cannot be judged yet",
    "no_treatment": "Not yet adequately treated: no medication or therapy is recorded",
}


@dataclass(frozen=True)
class AdequacyRules:
    dose_floor: bool = True  # compare with the catalogue's lower dose (SOURCES["dose"])
    dose_adherence: Fraction = Fraction(4, 5)
    dose_window_days: int = 28
    pdc: Fraction = Fraction(4, 5)  # PQA; PdcResult.adherent already applies its threshold
    attendance: float = ATTENDANCE_THRESHOLD
    attendance_min_countable: int = ATTENDANCE_MIN_COUNTABLE


RULES = AdequacyRules()


@dataclass(frozen=True)
class Medication:
    name: str
    daily_amount: float | None  # per day, in `unit`
    unit: str
    usual_min: float | None  # the catalogue's lower adult dose in mg; None: not known


@dataclass(frozen=True)
class ClassPdc:
    label: str
    eligible: bool
    pdc: float | None
    adherent: bool
    reason: str = ""  # why not eligible


@dataclass(frozen=True)
class Facts:
    medications: Sequence[Medication] = ()
    doses_taken: int | None = None  # None: nothing logged in the window
    doses_scheduled: int | None = None
    pdc: Sequence[ClassPdc] = ()
    in_therapy: bool = False
    attended: int = 0
    countable: int = 0  # attended + no-show + late-cancelled


@dataclass(frozen=True)
class Part:
    key: str
    label: str
    status: Status
    text: str
    source: str  # a key of SOURCES
    inputs: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "status": self.status,
            "text": self.text,
            "source": self.source,
            "inputs": self.inputs,
        }

    @property
    def cite(self) -> str:
        return SOURCES[self.source]


@dataclass(frozen=True)
class Adequacy:
    verdict: Verdict
    parts: tuple[Part, ...]

    @property
    def headline(self) -> str:
        return VERDICT_TEXT[self.verdict]

    @property
    def missing(self) -> list[str]:
        return [p.text for p in self.parts if p.status == "unknown"]

    @property
    def inadequate(self) -> list[str]:
        return [p.text for p in self.parts if p.status == "inadequate"]

    def text(self) -> str:
        """The verdict and its reasons in one paragraph."""
        if self.verdict == "no_treatment":
            return f"{self.headline}."
        if self.verdict == "inadequate":
            reasons = "; ".join(self.inadequate)
            extra = f" Also missing: {'; '.join(self.missing)}." if self.missing else ""
            return f"{self.headline}: {reasons}.{extra}"
        if self.verdict == "unknown":
            return f"{self.headline}: {'; '.join(self.missing)}."
        adequate = "; ".join(p.text for p in self.parts if p.status == "adequate")
        return f"{self.headline}: {adequate}."

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "headline": self.headline,
            "text": self.text(),
            "parts": [p.as_dict() for p in self.parts],
        }


def _pct(value: float) -> str:
    return f"{value * 100:.0f} %"


def dose_part(medications: Sequence[Medication], rules: AdequacyRules) -> Part:
    low, unknown, fine = [], [], []
    for med in medications:
        if med.daily_amount is None or med.usual_min is None or med.unit != "mg" or not rules.dose_floor:
            unknown.append(med.name)
        elif med.daily_amount < med.usual_min:
            low.append(f"{med.name} {med.daily_amount:g} mg/day (usual minimum {med.usual_min:g} mg)")
        else:
            fine.append(f"{med.name} {med.daily_amount:g} mg/day")
    inputs = {"low": low, "unknown": unknown, "adequate": fine}
    if low:
        return Part(
            "dose",
            "Dose",
            "inadequate",
            "dose below the usual minimum: " + ", ".join(low),
            "dose",
            inputs,
        )
    if unknown:
        return Part(
            "dose",
            "Dose",
            "unknown",
            "no usual dose range is recorded for " + ", ".join(unknown) + " (dose adequacy not known)",
            "dose",
            inputs,
        )
    return Part(
        "dose",
        "Dose",
        "adequate",
        "dose at or above the usual minimum (" + ", ".join(fine) + ")",
        "dose",
        inputs,
    )


def dose_adherence_part(facts: Facts, rules: AdequacyRules) -> Part:
    taken, scheduled = facts.doses_taken, facts.doses_scheduled
    window = rules.dose_window_days
    if taken is None or not scheduled:
        return Part(
            "dose_adherence",
            "Doses taken",
            "unknown",
            f"no doses were recorded in the dose log in the last {window} days",
            "dose_adherence",
            {"taken": taken, "scheduled": scheduled, "window_days": window},
        )
    ok = taken * rules.dose_adherence.denominator >= scheduled * rules.dose_adherence.numerator
    ratio = taken / scheduled
    return Part(
        "dose_adherence",
        "Doses taken",
        "adequate" if ok else "inadequate",
        f"{taken} of {scheduled} scheduled doses taken in the last {window} days ({_pct(ratio)}; "
        f"{_pct(float(rules.dose_adherence))} or more is adequate)",
        "dose_adherence",
        {
            "taken": taken,
            "scheduled": scheduled,
            "window_days": window,
            "threshold": str(rules.dose_adherence),
        },
    )


def pdc_part(pdc: Sequence[ClassPdc]) -> Part:
    if not pdc:
        return Part("pdc", "Refills (PDC)", "unknown", "no pharmacy fills are recorded", "pdc", {})
    eligible = [c for c in pdc if c.eligible]
    inputs = {c.label: (round(c.pdc, 3) if c.pdc is not None else None) for c in pdc}
    if not eligible:
        reasons = "; ".join(f"{c.label}: {c.reason}" for c in pdc)
        return Part(
            "pdc",
            "Refills (PDC)",
            "unknown",
            f"PDC cannot be computed yet ({reasons})",
            "pdc",
            inputs,
        )
    low = [c for c in eligible if not c.adherent]
    words = ", ".join(f"{c.label} {_pct(c.pdc or 0)}" for c in eligible)
    if low:
        return Part("pdc", "Refills (PDC)", "inadequate", f"PDC below 80 %: {words}", "pdc", inputs)
    return Part("pdc", "Refills (PDC)", "adequate", f"PDC 80 % or more: {words}", "pdc", inputs)


def attendance_part(facts: Facts, rules: AdequacyRules) -> Part:
    if not facts.in_therapy:
        return Part(
            "attendance",
            "Sessions attended",
            "not_applicable",
            "no therapy sessions",
            "attendance",
            {},
        )
    inputs = {"attended": facts.attended, "countable": facts.countable}
    if facts.countable < rules.attendance_min_countable:
        return Part(
            "attendance",
            "Sessions attended",
            "unknown",
            f"only {facts.countable} therapy sessions with a recorded outcome; attendance is judged from "
            f"{rules.attendance_min_countable}",
            "attendance",
            inputs,
        )
    rate = facts.attended / facts.countable
    ok = rate >= rules.attendance
    return Part(
        "attendance",
        "Sessions attended",
        "adequate" if ok else "inadequate",
        f"{facts.attended} of {facts.countable} therapy sessions attended ({_pct(rate)}; "
        f"{_pct(rules.attendance)} or more is adequate)",
        "attendance",
        inputs,
    )


def judge(facts: Facts, rules: AdequacyRules = RULES) -> Adequacy:
    on_medication = bool(facts.medications)
    parts: list[Part] = []
    if on_medication:
        parts.append(dose_part(facts.medications, rules))
        doses, pdc = dose_adherence_part(facts, rules), pdc_part(facts.pdc)
        known = [p for p in (doses, pdc) if p.status != "unknown"]
        if known:
            # "either_adherence": a missing measure does not block a known one.
            parts += [p if p.status != "unknown" else _noted(p) for p in (doses, pdc)]
        else:
            parts += [doses, pdc]
    parts.append(attendance_part(facts, rules))
    if not on_medication and not facts.in_therapy:
        return Adequacy("no_treatment", tuple(parts))
    statuses = {p.status for p in parts}
    if "inadequate" in statuses:
        return Adequacy("inadequate", tuple(parts))
    if "unknown" in statuses:
        return Adequacy("unknown", tuple(parts))
    return Adequacy("adequate", tuple(parts))


def _noted(part: Part) -> Part:
    """A missing adherence measure when the other one is known: shown, not blocking."""
    return Part(
        part.key,
        part.label,
        "not_applicable",
        f"{part.text} (judged from the other measure)",
        part.source,
        part.inputs,
    )
