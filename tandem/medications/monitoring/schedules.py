"""The monitoring schedules as data: what each drug calls for, and when."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from tandem.collab.models import Severity
from tandem.medications import catalog, drugs, labs
from tandem.medications.catalog import Drug, Source
from tandem.medications.models import (
    Regimen,
)
from tandem.medications.monitoring.base import START, START_OR_DOSE, Event

# ---------------------------------------------------------------------------------------------
# Schedules as data.

_OFFSET = re.compile(r"^(\d{1,4})([dwmy])$")


def parse_offset(text: str) -> tuple[int, int]:
    """ "5d", "4w", "3m", "1y" → (days, months)."""
    found = _OFFSET.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not an offset like 5d, 4w, 3m or 1y")
    n, unit = int(found[1]), found[2]
    return {"d": (n, 0), "w": (7 * n, 0), "m": (0, n), "y": (0, 12 * n)}[unit]


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later, or the month's last day (31 Jan + 1 m = 28/29 Feb)."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month0 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def add_offset(day: date, offset: str, times: int = 1) -> date:
    days, months = parse_offset(offset)
    return add_months(day, months * times) + timedelta(days=days * times)


@dataclass(frozen=True)
class PlanFacts:
    """What a conditional item may look at."""

    age_years: int
    daily_mg: float | None


@dataclass(frozen=True)
class ScheduleItem:
    rule_id: str
    tests: tuple[str, ...]  # keys of labs.TESTS
    reason: str
    sources: tuple[Source, ...]
    needs: tuple[str, ...] = ()  # Drug.monitoring keys the drug must all list…
    ingredient: str = ""  # …or an ingredient it must have
    on: frozenset[Event] = START  # "dose": a dose change or a resume
    at: tuple[str, ...] = ("0d",)  # offsets from the start or change
    every: str = ""  # then again every … after the last `at`, up to the horizon
    choice: str = ""  # what Tandem chose where the source leaves it open (configurable)
    early_days: int = 7  # a result up to this many days before the due date answers it
    overdue: str = Severity.ROUTINE  # the alert's severity once overdue
    supersede: bool = False  # a later change cancels the open rows it makes moot (steady state)
    when: Callable[[PlanFacts], bool] | None = None

    def applies(self, drug: Drug, facts: PlanFacts) -> bool:
        if self.needs and not set(self.needs) <= set(drug.monitoring):
            return False
        if self.ingredient and self.ingredient not in drug.ingredients:
            return False
        return self.when is None or self.when(facts)

    def dates(self, anchor: date, until: date) -> list[date]:
        days = [add_offset(anchor, offset) for offset in self.at]
        if self.every and days:
            base, k = days[-1], 1
            while (day := add_offset(base, self.every, k)) <= until:
                days.append(day)
                k += 1
        return [d for d in days if d <= until]

    @property
    def cited(self) -> str:
        return "; ".join(labs.cite(s) for s in self.sources)[:500]

    @property
    def unverified(self) -> bool:
        return catalog.weakest(self.sources) == "unverified"


def _s(*ids: str) -> tuple[Source, ...]:
    return tuple(catalog.source(i) for i in ids)


def _citalopram_high(facts: PlanFacts) -> bool:
    dose = facts.daily_mg or 0
    return dose > 40 or (dose > 20 and facts.age_years > 60)


_CLOZAPINE_ANC_AT = tuple(f"{w}w" for w in range(1, 27)) + tuple(f"{w}w" for w in range(28, 53, 2))

# Each item cites its source; `choice` says what Tandem decided where the source does not.
SCHEDULE: tuple[ScheduleItem, ...] = (
    # Lithium
    ScheduleItem(
        "lithium-level-steady-state",
        ("lithium_level",),
        "Lithium level at steady state: 5 days after the start or dose change, 12 h after the last dose",
        _s("lithium-guideline"),
        needs=("lithium_level",),
        on=START_OR_DOSE,
        at=("5d",),
        early_days=0,
        overdue=Severity.HIGH,
        supersede=True,
    ),
    ScheduleItem(
        "lithium-level-follow-up",
        ("lithium_level",),
        "Lithium level monthly for 3 months, then every 6 months",
        _s("lithium-guideline"),
        needs=("lithium_level",),
        at=("1m", "2m", "3m"),
        every="6m",
        overdue=Severity.HIGH,
    ),
    ScheduleItem(
        "lithium-baseline",
        ("renal", "thyroid", "calcium", "sodium", "cbc"),
        "Before lithium: renal and thyroid function, calcium, electrolytes and a blood count",
        _s("lithium-baseline", "lithium-guideline"),
        needs=("lithium_level",),
        early_days=30,
        overdue=Severity.HIGH,
    ),
    ScheduleItem(
        "lithium-renal-thyroid",
        ("renal", "thyroid", "sodium"),
        "On lithium: renal and thyroid function and electrolytes every 6 months",
        _s("lithium-baseline", "lithium-guideline"),
        needs=("lithium_level", "renal"),
        at=("6m",),
        every="6m",
        choice="every 6 months: the sources say every 3–6 months (TSH yearly in one)",
        early_days=14,
        overdue=Severity.HIGH,
    ),
    ScheduleItem(
        "lithium-calcium",
        ("calcium",),
        "On lithium: calcium yearly",
        _s("lithium-baseline", "lithium-guideline"),
        needs=("lithium_level", "calcium"),
        at=("1y",),
        every="1y",
        early_days=30,
        overdue=Severity.HIGH,
    ),
    # Valproate
    ScheduleItem(
        "valproate-baseline",
        ("liver", "cbc"),
        "Before valproate: liver tests, and a blood count with platelets",
        _s("valproate-label", "valproate-platelets"),
        needs=("liver",),
        early_days=30,
        overdue=Severity.HIGH,
    ),
    ScheduleItem(
        "valproate-first-6-months",
        ("liver", "cbc"),
        "Valproate: liver tests and platelets at frequent intervals in the first 6 months (boxed warning)",
        _s("valproate-label", "valproate-platelets"),
        needs=("liver",),
        at=("1m", "2m", "3m", "4m", "5m", "6m"),
        choice="monthly for 6 months: the label says 'at frequent intervals'",
        overdue=Severity.HIGH,
    ),
    ScheduleItem(
        "valproate-after-6-months",
        ("liver", "cbc"),
        "Valproate: liver tests and platelets every 6 months after the first 6 months",
        _s("valproate-label", "valproate-platelets"),
        needs=("liver",),
        at=("12m",),
        every="6m",
        choice="every 6 months after the first 6: the label says 'at frequent intervals thereafter'",
        early_days=14,
    ),
    ScheduleItem(
        "valproate-level",
        ("valproate_level",),
        "Valproate level about 5 days after the start or dose change (45–125 µg/mL in mania)",
        (*_s("valproate-levels"), labs.GENERAL),
        needs=("valproate_level",),
        on=START_OR_DOSE,
        at=("5d",),
        choice="at about 5 days: the timing is general knowledge, not from a source",
        early_days=0,
        supersede=True,
    ),
    # Carbamazepine (HLA-B*1502 before starting is prompted by the prescribing checks)
    ScheduleItem(
        "carbamazepine-blood-sodium",
        ("cbc", "sodium"),
        "Carbamazepine: blood count and sodium before starting, at 3 months, then every 6 months",
        _s("carbamazepine-unconfirmed", "carbamazepine-label"),
        needs=("carbamazepine_level", "cbc"),
        at=("0d", "3m"),
        every="6m",
        choice="baseline, 3 months, then every 6 months: CBC and sodium monitoring is not confirmed",
        early_days=14,
    ),
    # Clozapine
    ScheduleItem(
        "clozapine-anc-baseline",
        ("anc",),
        "Clozapine: ANC before starting (at least 1500/µL in the classic schedule)",
        _s("clozapine-label", "clozapine-anc-schedule", "clozapine-rems-ended"),
        needs=("anc",),
        early_days=7,
        overdue=Severity.HIGH,
    ),
    ScheduleItem(
        "clozapine-anc",
        ("anc",),
        "Clozapine: ANC weekly for 6 months, every 2 weeks to 12 months, then monthly",
        _s("clozapine-anc-schedule", "clozapine-label", "clozapine-rems-ended"),
        needs=("anc",),
        at=_CLOZAPINE_ANC_AT,
        every="1m",
        choice="the classic 2015 schedule, not checked against the current label",
        early_days=2,
        overdue=Severity.HIGH,
    ),
    # Second-generation antipsychotics (ADA/APA 2004; lipids yearly from APA 2020)
    ScheduleItem(
        "metabolic-baseline",
        ("weight", "waist", "blood_pressure", "glucose", "lipids"),
        "Before an antipsychotic: weight (BMI), waist, blood pressure, fasting glucose and lipids",
        _s("ada-apa-2004"),
        needs=("metabolic",),
        early_days=30,
    ),
    ScheduleItem(
        "metabolic-weight",
        ("weight",),
        "Antipsychotic: weight (BMI) at 4, 8 and 12 weeks, then quarterly",
        _s("ada-apa-2004"),
        needs=("metabolic",),
        at=("4w", "8w", "12w"),
        every="3m",
    ),
    ScheduleItem(
        "metabolic-12-weeks",
        ("blood_pressure", "glucose", "lipids"),
        "Antipsychotic: blood pressure, fasting glucose and lipids at 12 weeks",
        _s("ada-apa-2004"),
        needs=("metabolic",),
        at=("12w",),
        early_days=14,
    ),
    ScheduleItem(
        "metabolic-yearly",
        ("blood_pressure", "glucose", "waist"),
        "Antipsychotic: blood pressure, fasting glucose and waist yearly",
        _s("ada-apa-2004"),
        needs=("metabolic",),
        at=("1y",),
        every="1y",
        early_days=30,
    ),
    ScheduleItem(
        "metabolic-lipids-yearly",
        ("lipids",),
        "Antipsychotic: fasting lipids yearly",
        (labs.APA_2020, *_s("ada-apa-2004")),
        needs=("metabolic",),
        at=("1y",),
        every="1y",
        choice="yearly, as APA 2020 says; the ADA/APA 2004 table says every 5 years",
        early_days=30,
    ),
    # ECG
    ScheduleItem(
        "ecg-baseline",
        ("ecg",),
        "ECG before starting this antipsychotic",
        _s("apa-2020-ecg"),
        needs=("ecg",),
        early_days=30,
    ),
    ScheduleItem(
        "citalopram-ecg",
        ("ecg",),
        "Citalopram above 40 mg/day, or above 20 mg/day over 60: QT prolongation; consider an ECG",
        _s("citalopram-fda"),
        ingredient="citalopram",
        on=START_OR_DOSE,
        choice="an ECG prompt: the label caps the dose; the ECG is Tandem's prompt",
        early_days=30,
        when=_citalopram_high,
    ),
)

_OVERRIDABLE = {"at", "every", "early_days", "overdue"}


def schedule() -> tuple[ScheduleItem, ...]:
    """SCHEDULE with LAB_MONITORING["schedules"] applied: None switches an item off."""
    changes = (getattr(settings, "LAB_MONITORING", None) or {}).get("schedules") or {}
    known = {item.rule_id: item for item in SCHEDULE}
    for rule_id in changes:
        if rule_id not in known:
            raise ImproperlyConfigured(f"LAB_MONITORING['schedules']: unknown item {rule_id!r}")
    items = []
    for item in SCHEDULE:
        change = changes.get(item.rule_id, {})
        if change is None:
            continue
        where = f"LAB_MONITORING['schedules'][{item.rule_id!r}]"
        if set(change) - _OVERRIDABLE:
            raise ImproperlyConfigured(f"{where}: unknown key {sorted(set(change) - _OVERRIDABLE)[0]!r}")
        try:
            offsets = [*change.get("at", item.at), *([change["every"]] if change.get("every") else [])]
            for offset in offsets:
                parse_offset(offset)
        except (TypeError, ValueError) as exc:
            raise ImproperlyConfigured(f"{where}: {exc}") from None
        if change.get("every") and parse_offset(change["every"]) == (0, 0):
            raise ImproperlyConfigured(f"{where}: 'every' must be longer than 0")
        if change.get("overdue", item.overdue) not in Severity.values:
            raise ImproperlyConfigured(f"{where}: 'overdue' must be one of {Severity.values}")
        if change:
            item = replace(
                item,
                at=tuple(change.get("at", item.at)),
                every=change.get("every", item.every),
                early_days=int(change.get("early_days", item.early_days)),
                overdue=change.get("overdue", item.overdue),
                choice=f"{item.choice}; changed in LAB_MONITORING".lstrip("; "),
            )
        items.append(item)
    return tuple(items)


def item_for(rule_id: str) -> ScheduleItem | None:
    return next((i for i in schedule() if i.rule_id == rule_id), None)


@dataclass(frozen=True)
class PlannedDue:
    test: str
    due: date
    item: ScheduleItem


def planned_dues(drug: Drug, event: Event, anchor: date, until: date, facts: PlanFacts) -> list[PlannedDue]:
    """Pure: the rows a start or dose change on `anchor` calls for, up to `until`."""
    found = []
    for item in schedule():
        if event in item.on and item.applies(drug, facts):
            found += [PlannedDue(test, day, item) for day in item.dates(anchor, until) for test in item.tests]
    return found


def drug_for(regimen: Regimen) -> Drug:
    """The catalogue's view of a regimen's drug. A free-text or organisation entry that names a
    catalogue drug ("Lithium carbonate ER 300") takes that drug's monitoring, so that a typed
    name does not escape the lithium or clozapine schedules."""
    try:
        drug = drugs.resolve(regimen.drug_key, regimen.patient.organisation_id)
    except KeyError:
        drug = catalog.free_text(regimen.drug_name)
    if not drug.key.startswith(("free:", "org:")):
        return drug
    name = drug.name.casefold()
    monitoring, ingredients = list(drug.monitoring), list(drug.ingredients)
    for known in catalog.all_drugs():
        terms = {known.key.replace("_", " "), *known.ingredients, *known.synonyms}
        if any(re.search(rf"\b{re.escape(t.casefold())}\b", name) for t in terms):
            monitoring += [m for m in known.monitoring if m not in monitoring]
            ingredients += [i for i in known.ingredients if i not in ingredients]
    return replace(drug, monitoring=tuple(monitoring), ingredients=tuple(ingredients))


def items_by_rule() -> Mapping[str, ScheduleItem]:
    return {item.rule_id: item for item in schedule()}
