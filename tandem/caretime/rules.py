"""Which collaborative-care and BHI codes a month's logged time supports. Pure functions, no database.

Source: docs/clinical-facts.md §H "Collaborative-care and BHI billing (CMS)":

- 99492 ✔ initial CoCM, *first 70 minutes* in the first calendar month;
- 99493 ✔ subsequent month, *first 60 minutes*;
- 99494 ✔ *each additional 30 minutes* (add-on);
- 99484 ✔ general BHI, *at least 20 minutes* of clinical staff time per calendar month;
- G2214 ✔ initial or subsequent psychiatric collaborative care management, *first 30 minutes*
  in a month;
- billable minimums (unverified; the CPT "more than half" time rule, to be checked against
  MLN909432 Table 1): 99492 ≥ 36 min, 99493 ≥ 31 min, 99494 ≥ 16 min beyond the base,
  G2214 ≥ 16 min. §H gives no such minimum for 99484.

Two presets follow from that: "descriptor" (the default: the full times of the code descriptors,
all ✔) and "midpoint" (the unverified minimums). Either may be changed number by number in
settings (TANDEM_CARETIME_THRESHOLDS); the page shows the thresholds in force with their source.

How codes combine, as §H states it: 99494 is an add-on, so its units are counted only beyond the
base time of 99492 or 99493 and only in a month that supports one of them. §H says nothing about
reporting G2214 or 99484 in the same month as 99492/99493: Tandem lists every code the time meets
and marks that combination unverified; the billing practitioner chooses.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

SOURCE_DESCRIPTORS = (
    "clinical-facts.md §H, code descriptors ✔ (AAFP Behavioral Health Integration coding; "
    "G2214: AAPC My Primary Care Coding Alert)"
)
SOURCE_MIDPOINT = (
    "clinical-facts.md §H, billable minimums (unverified: CPT 'more than half' time rule; "
    "check CMS MLN909432 Table 1)"
)
SOURCE_SETTINGS = "changed in settings (TANDEM_CARETIME_THRESHOLDS)"

COMBINATION_NOTES = (
    "99494 is an add-on (§H): it is counted only beyond the first 70 minutes (99492) or 60 minutes "
    "(99493), in a month that supports one of them.",
    "§H does not say whether G2214 or 99484 may be reported in the same month as 99492/99493 for the "
    "same patient (unverified): Tandem lists each code the time meets; the billing practitioner chooses.",
    "99492/99493/99494 and G2214 count the care manager's minutes (§H: track care-manager minutes); "
    "99484 counts the minutes of all clinical staff (§H: 'clinical staff time').",
)


@dataclass(frozen=True)
class Thresholds:
    """Minutes in one calendar month. `*_base` are the descriptor times the add-on counts beyond;
    `*_min` the least time that supports the code; an add-on unit needs `addon_min` minutes of a
    further `addon_block`."""

    initial_base: int = 70
    initial_min: int = 70
    subsequent_base: int = 60
    subsequent_min: int = 60
    addon_block: int = 30
    addon_min: int = 30
    g2214_min: int = 30
    bhi_min: int = 20
    preset: str = "descriptor"
    source: str = SOURCE_DESCRIPTORS
    unverified: bool = False


DESCRIPTOR = Thresholds()
MIDPOINT = Thresholds(
    initial_min=36,
    subsequent_min=31,
    addon_min=16,
    g2214_min=16,
    preset="midpoint",
    source=SOURCE_MIDPOINT,
    unverified=True,
)
PRESETS = {"descriptor": DESCRIPTOR, "midpoint": MIDPOINT}
NUMBERS = (
    "initial_base",
    "initial_min",
    "subsequent_base",
    "subsequent_min",
    "addon_block",
    "addon_min",
    "g2214_min",
    "bhi_min",
)


class ThresholdError(ValueError):
    pass


def thresholds_from(value: Any) -> Thresholds:
    """Thresholds from a setting: None (the descriptor preset), a preset name, or a dict with an
    optional "preset" and any of NUMBERS. Raises ThresholdError on anything else, so a bad setting
    fails loudly."""
    if value is None:
        return DESCRIPTOR
    if isinstance(value, str):
        if value not in PRESETS:
            raise ThresholdError(f"unknown preset {value!r}; use one of {sorted(PRESETS)}")
        return PRESETS[value]
    if not isinstance(value, dict):
        raise ThresholdError("thresholds must be a preset name or a dict")
    base = thresholds_from(value.get("preset", "descriptor"))
    unknown = set(value) - set(NUMBERS) - {"preset"}
    if unknown:
        raise ThresholdError(f"unknown threshold {sorted(unknown)[0]!r}")
    numbers = {k: value[k] for k in NUMBERS if k in value}
    for key, number in numbers.items():
        if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 600:
            raise ThresholdError(f"{key} must be a whole number of minutes from 1 to 600")
    if not numbers:
        return base
    changed = replace(base, **numbers, source=f"{base.source}; {SOURCE_SETTINGS}: {sorted(numbers)}")
    if changed.addon_min > changed.addon_block:
        raise ThresholdError("addon_min cannot exceed addon_block")
    return changed


@dataclass(frozen=True)
class CodeLine:
    code: str
    units: int
    description: str
    rule: str  # what the time met, e.g. "≥ 70 min in the first month"
    caveat: str = ""  # why §H leaves this line unverified, when it does

    @property
    def unverified(self) -> bool:
        return bool(self.caveat)


def addon_units(minutes: int, base: int, t: Thresholds) -> int:
    """99494 units: each full `addon_block` beyond `base`, plus one for a last part block of at
    least `addon_min` (which is the whole block in the descriptor preset)."""
    extra = minutes - base
    if extra <= 0:
        return 0
    full, part = divmod(extra, t.addon_block)
    return full + (1 if part >= t.addon_min else 0)


def codes_for_month(
    minutes: int, first_month: bool, thresholds: Thresholds = DESCRIPTOR, *, bhi_minutes: int | None = None
) -> list[CodeLine]:
    """The codes one patient's month supports. `minutes`: the care manager's minutes (CoCM and
    G2214); `bhi_minutes`: all clinical staff's minutes (99484), `minutes` when not given."""
    t = thresholds
    threshold_caveat = "the threshold is one of §H's unverified billable minimums" if t.unverified else ""
    bhi = minutes if bhi_minutes is None else bhi_minutes
    lines: list[CodeLine] = []
    if first_month:
        primary, base, least, what = "99492", t.initial_base, t.initial_min, "first month"
        description = "Initial psychiatric collaborative care management, first 70 minutes"
    else:
        primary, base, least, what = "99493", t.subsequent_base, t.subsequent_min, "subsequent month"
        description = "Subsequent psychiatric collaborative care management, first 60 minutes"
    with_primary = minutes >= least
    combination = f"reported with {primary}: not stated in §H" if with_primary else ""
    if with_primary:
        lines.append(CodeLine(primary, 1, description, f"≥ {least} min, {what}", threshold_caveat))
        units = addon_units(minutes, base, t)
        if units:
            lines.append(
                CodeLine(
                    "99494",
                    units,
                    "Each additional 30 minutes (add-on)",
                    f"beyond {base} min: {t.addon_min} of each further {t.addon_block} min",
                    threshold_caveat,
                )
            )
    if minutes >= t.g2214_min:
        lines.append(
            CodeLine(
                "G2214",
                1,
                "Psychiatric collaborative care management, first 30 minutes",
                f"≥ {t.g2214_min} min",
                "; ".join(c for c in (threshold_caveat, combination) if c),
            )
        )
    if bhi >= t.bhi_min:
        lines.append(
            CodeLine(
                "99484",
                1,
                "General behavioural health integration, at least 20 minutes of clinical staff time",
                f"≥ {t.bhi_min} min of clinical staff time",
                combination,
            )
        )
    return lines
