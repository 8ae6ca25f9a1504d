"""Adherence, computed without the database: refill-based (PQA proportion of days covered) and
dose-based (doses taken ÷ doses scheduled, per local day, ISO week and the last 30 days).

Every rule names its source in SOURCES; `clinical-facts.md` is ../docs/clinical-facts.md
(section F, "Adherence"). Where §F is silent the rule is a setting (PdcRules, DoseRules) and its
SOURCES entry says so, so that the UI can say so too.

PDC is interval arithmetic on day ordinals (shift, truncate, merge), never a loop over days, so a
population of 100 000 patients is a few seconds of one core (benchmarks/pdc.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from tandem.lib.timezones import local_date

_F = "clinical-facts.md §F"
_PQA_SPEC = "PQA measure specification, http://studylib.net/doc/7960602/proportion-of-days-covered--pdc-"
_PQA_LOGIC = (
    "PQA reference test cases https://www.pqaalliance.org/assets/Measures/pdc-dr.js.txt; "
    "NCQA FAQ https://www.ncqa.org/faqs/?faq-sort=desc&pg=120"
)

SOURCES: dict[str, str] = {
    "pdc": f"{_F} PQA PDC, Definitions ✔: the proportion of days in the measurement period "
    f"'covered' by fills of the same medication or another in its therapeutic category. {_PQA_SPEC}",
    "pdc_threshold": f"{_F} PQA PDC, Definitions ✔: threshold 80 % (90 % antiretrovirals). {_PQA_SPEC}",
    "pdc_index_date": f"{_F} PQA PDC, Definitions ✔: the period runs from the index date (first fill "
    f"of a target drug) to the end of enrolment/measurement. Fills dated before the measurement "
    f"period are not claims of the period and are ignored, supply included. {_PQA_SPEC}",
    "pdc_min_treatment_days": f"{_F} PQA PDC, Definitions ✔: the index date must be ≥ 91 days before "
    "the end. §F does not say how the days are counted; counted inclusively (index date and last "
    "day both count), as NCQA FAQ 1.16.2012 does: a first fill on Nov 1 with the period ending "
    "Dec 31 is '61 days prior to the end' and is excluded "
    "(https://www.ncqa.org/FAQs/?faq-sort=desc&pg=118). Configurable: PdcRules.min_treatment_days.",
    "pdc_enrolment_proxy": f"{_F} PQA PDC, Definitions ✔: pharmacy-only enrolment proxy, ≥ 2 fills "
    "≥ 150 days apart (the specification: 'two or more prescriptions for any medication, with 150 "
    f"days between the first fill and the last fill, over a 12 month period'). {_PQA_SPEC} Off by "
    "default: a Tandem patient's enrolment is known. PdcRules.enrolment_proxy.",
    "pdc_min_fill_dates": "NOT IN §F, which names no minimum number of fills. The PQA measures' "
    "denominator is patients who 'filled at least two prescriptions ... on two unique dates of "
    "service' (AHRQ NQMC 009246, summary of the PQA technical specifications, July 2015). "
    "Configurable: PdcRules.min_fill_dates (default 2; 1 follows §F's text alone).",
    "pdc_day_array": f"{_F} PQA PDC, Computation ✔: days count once; the numerator can never "
    f"exceed the denominator. {_PQA_LOGIC}",
    "pdc_truncation": f"{_F} PQA PDC, Computation ✔: days' supply beyond the end of the period is "
    f"truncated. {_PQA_LOGIC}",
    "pdc_shift_same_drug": f"{_F} PQA PDC, Computation ✔: an overlapping refill of the same drug is "
    "shifted to start the day after the previous supply ends (a 2018-03-25 fill becomes "
    f"dateOfFirstDose 2018-04-01). {_PQA_LOGIC}",
    "pdc_class_overlap": f"{_F} PQA PDC, Computation ✔: overlaps between different drugs in the "
    f"class are not shifted; they are counted once. {_PQA_LOGIC}",
    "dose_ratio": "Product rule, not in §F: dose-based adherence = doses taken (on time or late) ÷ "
    "scheduled doses that are due and resolved; as-needed doses are not in the ratio.",
    "dose_grace": "Product setting, not in §F: an unlogged dose counts as missed once the "
    "late-logging window has passed (DoseRules.grace, default 48 h); a dose logged as taken "
    "within it counts as taken late.",
    "dose_late_after": "Product setting, not in §F: a dose taken more than DoseRules.late_after "
    "(default 2 h) after it was due is 'taken late'.",
    "missed_in_a_row": "Product setting, not in §F: 3 missed doses of one regimen in a row raise a "
    "signal (MISSED_IN_A_ROW_SIGNAL).",
}

PDC_THRESHOLD = Fraction(4, 5)  # SOURCES["pdc_threshold"]
PDC_THRESHOLD_ANTIRETROVIRAL = Fraction(9, 10)  # SOURCES["pdc_threshold"]
MISSED_IN_A_ROW_SIGNAL = 3  # SOURCES["missed_in_a_row"]


# --- Refill-based: PQA proportion of days covered -------------------------------------------


@dataclass(frozen=True, slots=True)
class Fill:
    """One dispensing: `days_supply` days of `drug_key` (the active ingredient, which decides
    shifting) from `fill_date`; `drug_class` is the therapeutic category PDC is reported for."""

    drug_key: str
    drug_class: str
    fill_date: date
    days_supply: int

    def __post_init__(self) -> None:
        if isinstance(self.days_supply, bool) or not isinstance(self.days_supply, int):
            raise ValueError(f"days_supply must be a whole number of days, not {self.days_supply!r}")
        if self.days_supply <= 0:
            raise ValueError(f"days_supply must be at least 1 day, not {self.days_supply}")
        if not isinstance(self.fill_date, date):
            raise ValueError(f"fill_date must be a date, not {self.fill_date!r}")


@dataclass(frozen=True, slots=True)
class PdcRules:
    """The settings of the PQA rules; each default is §F's or, where §F is silent, says so."""

    threshold: Fraction = PDC_THRESHOLD
    min_fill_dates: int = 2  # SOURCES["pdc_min_fill_dates"]: not in §F
    min_treatment_days: int = 91  # SOURCES["pdc_min_treatment_days"]
    enrolment_proxy: bool = False  # SOURCES["pdc_enrolment_proxy"]
    enrolment_proxy_days: int = 150

    def __post_init__(self) -> None:
        threshold = self.threshold
        if isinstance(threshold, float):  # 0.8 means 4/5, not 0.8000000000000000444
            threshold = Fraction(str(threshold))
        if not isinstance(threshold, Fraction | int) or not 0 < threshold <= 1:
            raise ValueError(f"threshold must be a fraction in (0, 1], not {self.threshold!r}")
        object.__setattr__(self, "threshold", Fraction(threshold))
        if self.min_fill_dates < 1:
            raise ValueError("min_fill_dates must be at least 1")
        if self.min_treatment_days < 1:
            raise ValueError("min_treatment_days must be at least 1")


PQA = PdcRules()


@dataclass(frozen=True, slots=True)
class PdcResult:
    """PDC of one drug class. `pdc` is None when there is no index date. `adherent` is
    PDC ≥ threshold for an eligible patient and always False for an ineligible one: read
    `eligible` (and `reason`, empty when eligible) first. `rule` is the SOURCES key of the
    rule that made the patient ineligible, to cite next to the reason."""

    drug_class: str
    eligible: bool
    reason: str
    rule: str
    index_date: date | None
    period_end: date
    days_in_period: int
    days_covered: int
    pdc: float | None
    adherent: bool
    threshold: Fraction
    covered: tuple[tuple[date, date], ...] = ()  # merged, inclusive spans within the period

    def covered_on(self, day: date) -> bool:
        return any(start <= day <= end for start, end in self.covered)

    def days(self) -> Iterator[tuple[date, bool]]:
        """Per-day coverage from the index date to the end of the period (for charts)."""
        if self.index_date is None:
            return
        spans = iter(self.covered)
        span = next(spans, None)
        for offset in range(self.days_in_period):
            day = self.index_date + timedelta(days=offset)
            while span is not None and span[1] < day:
                span = next(spans, None)
            yield day, span is not None and span[0] <= day


def _check_period(period_start: date, period_end: date) -> None:
    if period_end < period_start:
        raise ValueError(f"period_end ({period_end}) is before period_start ({period_start})")


def _class_result(
    drug_class: str,
    target: list[Fill],
    all_in_period: list[Fill],
    period_end: date,
    rules: PdcRules,
) -> PdcResult:
    """`target`: this class's fills dated within the period; `all_in_period`: every class's."""
    threshold = rules.threshold
    if not target:
        return PdcResult(
            drug_class=drug_class,
            eligible=False,
            reason="no fill of this class in the measurement period",
            rule="pdc_index_date",
            index_date=None,
            period_end=period_end,
            days_in_period=0,
            days_covered=0,
            pdc=None,
            adherent=False,
            threshold=threshold,
        )
    end = period_end.toordinal()
    # Per drug, in date order: shift a refill that starts before the previous supply ends to
    # the day after it ends (SOURCES["pdc_shift_same_drug"]), then truncate at the end of the
    # period (SOURCES["pdc_truncation"]).
    by_drug: dict[str, list[tuple[int, int]]] = {}
    for fill in target:
        by_drug.setdefault(fill.drug_key, []).append((fill.fill_date.toordinal(), fill.days_supply))
    spans: list[tuple[int, int]] = []
    for supplies in by_drug.values():
        supplies.sort()
        free = 0  # the first day not yet covered by this drug
        for day, supply in supplies:
            start = day if day >= free else free
            if start > end:
                break  # shifting only pushes later: the rest are past the end too
            free = start + supply
            spans.append((start, free - 1 if free <= end else end))
    # Different drugs of the class are not shifted; a day covered by several counts once
    # (SOURCES["pdc_class_overlap"], SOURCES["pdc_day_array"]).
    if len(by_drug) > 1:
        spans.sort()
    merged: list[tuple[int, int]] = []
    covered = 0
    cur_start, cur_end = spans[0]
    for start, stop in spans[1:]:
        if start <= cur_end + 1:
            if stop > cur_end:
                cur_end = stop
        else:
            merged.append((cur_start, cur_end))
            covered += cur_end - cur_start + 1
            cur_start, cur_end = start, stop
    merged.append((cur_start, cur_end))
    covered += cur_end - cur_start + 1

    index = min(fill.fill_date for fill in target)  # SOURCES["pdc_index_date"]
    days = end - index.toordinal() + 1
    reason = rule = ""
    if len({fill.fill_date for fill in target}) < rules.min_fill_dates:
        rule = "pdc_min_fill_dates"
        reason = f"fewer than {rules.min_fill_dates} fills on different dates in the measurement period"
    elif days < rules.min_treatment_days:
        rule = "pdc_min_treatment_days"
        reason = (
            f"index date {index} is {days} days before the end of the measurement period "
            f"(counting both); at least {rules.min_treatment_days} are required"
        )
    elif rules.enrolment_proxy and not _enrolled_by_proxy(all_in_period, rules.enrolment_proxy_days):
        rule = "pdc_enrolment_proxy"
        reason = (
            f"pharmacy-only enrolment proxy not met: no two fills {rules.enrolment_proxy_days} "
            "or more days apart in the measurement period"
        )
    eligible = not reason
    adherent = eligible and covered * threshold.denominator >= threshold.numerator * days
    fromordinal = date.fromordinal
    return PdcResult(
        drug_class=drug_class,
        eligible=eligible,
        reason=reason,
        rule=rule,
        index_date=index,
        period_end=period_end,
        days_in_period=days,
        days_covered=covered,
        pdc=covered / days,
        adherent=adherent,
        threshold=threshold,
        covered=tuple((fromordinal(a), fromordinal(b)) for a, b in merged),
    )


def _enrolled_by_proxy(fills: list[Fill], min_days: int) -> bool:
    """SOURCES["pdc_enrolment_proxy"]: two or more fills of any medication, the first and the last
    at least `min_days` apart."""
    if len(fills) < 2:
        return False
    dates = [fill.fill_date for fill in fills]
    return (max(dates) - min(dates)).days >= min_days


def pdc_by_class(
    fills: Iterable[Fill], period_start: date, period_end: date, *, rules: PdcRules = PQA
) -> dict[str, PdcResult]:
    """PDC of every drug class among `fills`, over the measurement period [period_start,
    period_end] (both days included; pass the disenrolment date as period_end if earlier).

    Pass all of the patient's fills: other classes' fills only matter to the enrolment proxy."""
    _check_period(period_start, period_end)
    by_class: dict[str, list[Fill]] = {}
    in_period: list[Fill] = []
    for fill in fills:
        target = by_class.setdefault(fill.drug_class, [])
        if period_start <= fill.fill_date <= period_end:
            target.append(fill)
            in_period.append(fill)
    return {
        drug_class: _class_result(drug_class, target, in_period, period_end, rules)
        for drug_class, target in by_class.items()
    }


def pdc(
    fills: Iterable[Fill],
    period_start: date,
    period_end: date,
    *,
    drug_class: str | None = None,
    rules: PdcRules = PQA,
) -> PdcResult:
    """PDC of `drug_class` (which may be left out when every fill is of one class)."""
    fills = list(fills)
    if drug_class is None:
        classes = {fill.drug_class for fill in fills}
        if len(classes) != 1:
            raise ValueError(f"drug_class is required: the fills are of {len(classes)} classes")
        drug_class = classes.pop()
    _check_period(period_start, period_end)
    in_period = [fill for fill in fills if period_start <= fill.fill_date <= period_end]
    target = [fill for fill in in_period if fill.drug_class == drug_class]
    return _class_result(drug_class, target, in_period, period_end, rules)


def pdc_many(
    fills_by_patient: Iterable[tuple[int, list[Fill]]],
    period_start: date,
    period_end: date,
    *,
    drug_class: str | None = None,
    rules: PdcRules = PQA,
) -> dict[int, dict[str, PdcResult]]:
    """pdc_by_class for each patient: {patient_id: {drug_class: result}}; with `drug_class`,
    only that class (a patient without it gets an ineligible "no fill" result)."""
    results: dict[int, dict[str, PdcResult]] = {}
    for patient_id, fills in fills_by_patient:
        by_class = pdc_by_class(fills, period_start, period_end, rules=rules)
        if drug_class is not None:
            result = by_class.get(drug_class)
            if result is None:
                result = _class_result(drug_class, [], [], period_end, rules)
            by_class = {drug_class: result}
        results[patient_id] = by_class
    return results


def pdc_below_threshold(result: PdcResult) -> bool:
    """The refill-adherence signal: an eligible patient under the PDC threshold
    (SOURCES["pdc_threshold"]). Ineligible patients never raise it."""
    return result.eligible and not result.adherent


# --- Dose-based: doses taken ÷ doses scheduled ----------------------------------------------

DoseStatus = Literal["taken", "taken_late", "skipped", "missed"]
STATUSES: frozenset[str] = frozenset({"taken", "taken_late", "skipped", "missed"})
TAKEN: frozenset[str] = frozenset({"taken", "taken_late"})


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
        raise ValueError(f"{name} must be an aware datetime, not {value!r}")


@dataclass(frozen=True, slots=True)
class ScheduledDose:
    regimen_id: int
    due_at: datetime

    def __post_init__(self) -> None:
        _require_aware("due_at", self.due_at)


class Due(Protocol):
    """A scheduled dose: ScheduledDose, or anything with these two (schedule.DueDose)."""

    @property
    def regimen_id(self) -> int: ...

    @property
    def due_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class DoseRecord:
    """What was logged for the dose of `regimen_id` due at `due_at` (the same instant as its
    ScheduledDose; that is how the two are matched)."""

    regimen_id: int
    due_at: datetime
    status: DoseStatus
    taken_at: datetime | None = None

    def __post_init__(self) -> None:
        _require_aware("due_at", self.due_at)
        _require_aware("taken_at", self.taken_at)
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {sorted(STATUSES)}, not {self.status!r}")


@dataclass(frozen=True, slots=True)
class DoseRules:
    grace: timedelta = timedelta(hours=48)  # SOURCES["dose_grace"]
    late_after: timedelta = timedelta(hours=2)  # SOURCES["dose_late_after"]
    window_days: int = 30


DOSE_RULES = DoseRules()


@dataclass(slots=True)
class DoseCounts:
    taken: int = 0  # on time
    taken_late: int = 0
    skipped: int = 0
    missed: int = 0
    pending: int = 0  # due, not logged, still inside the late-logging window: not in the ratio

    @property
    def scheduled(self) -> int:
        """The denominator: due doses whose outcome is known."""
        return self.taken + self.taken_late + self.skipped + self.missed

    @property
    def ratio(self) -> float | None:
        scheduled = self.scheduled
        return (self.taken + self.taken_late) / scheduled if scheduled else None

    def add(self, status: str) -> None:
        setattr(self, status, getattr(self, status) + 1)


@dataclass(slots=True)
class DoseAdherence:
    """Counts per local day, per ISO (year, week) of local days, and over the last
    `window_days` local days up to and including today; `doses` are the resolved doses in
    due order (the input of missed_in_a_row)."""

    by_day: dict[date, DoseCounts] = field(default_factory=dict)
    by_week: dict[tuple[int, int], DoseCounts] = field(default_factory=dict)
    last_days: DoseCounts = field(default_factory=DoseCounts)
    doses: list[DoseRecord] = field(default_factory=list)


def _resolve(dose: Due, record: DoseRecord | None, now: datetime, rules: DoseRules) -> DoseRecord | None:
    """The dose's outcome as of `now`, or None while it may still be logged."""
    if record is None:
        if now - dose.due_at < rules.grace:
            return None
        return DoseRecord(dose.regimen_id, dose.due_at, "missed")
    status = record.status
    if status in TAKEN and record.taken_at is not None:
        late_by = record.taken_at - dose.due_at
        if late_by > rules.grace:
            status = "missed"  # outside the late-logging window it is not this dose
        elif status == "taken" and late_by > rules.late_after:
            status = "taken_late"
    if status == record.status:
        return record
    return DoseRecord(record.regimen_id, record.due_at, status, record.taken_at)


def resolve_doses(
    scheduled: Iterable[Due],
    records: Iterable[DoseRecord],
    *,
    now: datetime,
    rules: DoseRules = DOSE_RULES,
    as_needed: Iterable[int] = (),
) -> list[DoseRecord]:
    """One record per scheduled dose due by `now`, in due order, with its effective status:
    an unlogged dose past the grace window is "missed", a "taken" dose taken after
    `late_after` is "taken_late". Doses not yet due, unlogged doses still inside the window,
    doses of the `as_needed` regimens and records matching no scheduled dose are left out.
    A dose is identified by (regimen_id, due_at): duplicates in `scheduled` are one dose, and
    when a dose has several records the last one wins."""
    return [record for record, _ in _resolved(scheduled, records, now, rules, as_needed) if record]


def _resolved(
    scheduled: Iterable[Due],
    records: Iterable[DoseRecord],
    now: datetime,
    rules: DoseRules,
    as_needed: Iterable[int],
) -> list[tuple[DoseRecord | None, Due]]:
    _require_aware("now", now)
    skip = frozenset(as_needed)
    logged = {(r.regimen_id, r.due_at): r for r in records}
    # A dose is (regimen, instant): two schedule rows at one instant (a wall time skipped by
    # spring-forward moves onto the next hour's) are one dose, as a record can only match one.
    due = {(d.regimen_id, d.due_at): d for d in scheduled if d.regimen_id not in skip and d.due_at <= now}
    doses = sorted(due.values(), key=lambda d: (d.due_at, d.regimen_id))
    return [(_resolve(dose, logged.get((dose.regimen_id, dose.due_at)), now, rules), dose) for dose in doses]


def dose_adherence(
    scheduled: Iterable[Due],
    records: Iterable[DoseRecord],
    *,
    tz: ZoneInfo | str,
    now: datetime,
    rules: DoseRules = DOSE_RULES,
    as_needed: Iterable[int] = (),
) -> DoseAdherence:
    """Doses taken ÷ doses scheduled (SOURCES["dose_ratio"]), bucketed by the patient's local
    calendar day in `tz`, so a dose at 23:30 belongs to its own day on the 23- and 25-hour days
    of a daylight-saving change."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    result = DoseAdherence()
    resolved = _resolved(scheduled, records, now, rules, as_needed)
    first_recent = local_date(now, zone) - timedelta(days=rules.window_days - 1)
    for record, dose in resolved:
        status = "pending" if record is None else record.status
        if record is not None:
            result.doses.append(record)
        day = local_date(dose.due_at, zone)
        counts = result.by_day.get(day)
        if counts is None:
            counts = result.by_day[day] = DoseCounts()
        counts.add(status)
        year, week, _ = day.isocalendar()
        weekly = result.by_week.get((year, week))
        if weekly is None:
            weekly = result.by_week[(year, week)] = DoseCounts()
        weekly.add(status)
        if day >= first_recent:
            result.last_days.add(status)
    return result


def missed_in_a_row(records: Iterable[DoseRecord]) -> int:
    """The longest current run of missed doses of one regimen: consecutive "missed" records,
    counted back from the regimen's latest dose. Any other outcome (taken, taken late,
    skipped on purpose) ends a run. Feed it resolve_doses() output, so that unlogged doses
    past the grace window count as missed; MISSED_IN_A_ROW_SIGNAL or more is the signal."""
    by_regimen: dict[int, list[DoseRecord]] = {}
    for record in records:
        by_regimen.setdefault(record.regimen_id, []).append(record)
    longest = 0
    for doses in by_regimen.values():
        doses.sort(key=lambda r: r.due_at)
        run = 0
        for record in reversed(doses):
            if record.status != "missed":
                break
            run += 1
        longest = max(longest, run)
    return longest


def missed_doses_signal(records: Iterable[DoseRecord]) -> bool:
    return missed_in_a_row(records) >= MISSED_IN_A_ROW_SIGNAL
