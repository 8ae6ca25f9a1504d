"""Lab monitoring: what a regimen calls for, the results that answer it, and what is overdue.

- `plan_monitoring(regimen, version)` turns a start or a dose change into MonitoringDue rows, from
  SCHEDULE below (each item cites its source; where the source leaves the interval open, the
  item says what Tandem chose, and LAB_MONITORING["schedules"] changes it). A stop cancels the
  regimen's open rows.
- `do_record_lab(...)` records one result: checked field by field, flagged against labs.py,
  audited, answering the monitoring rows it satisfies; out of range, it alerts the prescriber.
- `evaluate_overdue(now)` raises one alert per row left undone past a grace period;
  `extend_monitoring(now)` keeps running regimens' recurring rows planned ahead. Both are jobs
  (lab_jobs.py).

Settings, all optional: LAB_MONITORING = {"overdue_grace_days": 7, "horizon_days": 400,
"backfill_days": 30, "alert_within_days": 30, "schedules": {rule_id: None | {"at": [...],
"every": "6m", "early_days": 7, "overdue": "high"}}}; thresholds: labs.thresholds().
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import CharField, Exists, Max, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat
from django.http import HttpRequest
from django.utils import timezone

from tandem.accounts.models import Role, User
from tandem.audit.actions import audit_patient_event
from tandem.audit.models import Action
from tandem.collab.actions import do_raise_alert, do_resolve_alert
from tandem.collab.models import Alert, AlertStatus, Severity
from tandem.core import jobs
from tandem.lib.timezones import local_date
from tandem.medications import catalog, drugs, labs
from tandem.medications.actions import MedicationError
from tandem.medications.catalog import Drug, Source
from tandem.medications.models import (
    FillSource,
    LabResult,
    MonitoringDue,
    Regimen,
    RegimenStatus,
    RegimenVersion,
)
from tandem.patients.models import Patient

Event = Literal["start", "dose"]
START: frozenset[Event] = frozenset({"start"})
START_OR_DOSE: frozenset[Event] = frozenset({"start", "dose"})

DEFAULTS: dict[str, int] = {
    "overdue_grace_days": 7,  # a row is overdue this many days after its due date
    "horizon_days": 400,  # recurring rows are planned this far ahead
    "backfill_days": 30,  # a back-dated start plans nothing due longer ago than this
    "alert_within_days": 30,  # an older result entered late is flagged but does not alert
}
ALERT_KIND = "lab"  # a result out of range
OVERDUE_KIND = "lab_overdue"  # monitoring left undone
ROUTE_TO = [Role.PRESCRIBER]
NOTIFY = [Role.CARE_MANAGER]
FUTURE_TOLERANCE = timedelta(minutes=5)
WEIGHT_BASELINE_AFTER_START = timedelta(days=7)


def setting(name: str) -> int:
    value = (getattr(settings, "LAB_MONITORING", None) or {}).get(name, DEFAULTS[name])
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ImproperlyConfigured(f"LAB_MONITORING[{name!r}] must be a whole number of days, not {value!r}")
    return value


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


# ---------------------------------------------------------------------------------------------
# Planning from regimens.


@dataclass
class PlanResult:
    created: int = 0
    cancelled: int = 0
    satisfied: int = 0
    rules: list[str] = field(default_factory=list)


def _event(version: RegimenVersion) -> Event | None:
    if version.kind == "start":
        return "start"
    if version.kind in ("increase", "decrease", "resume"):
        return "dose"
    if version.kind == "change":
        previous = RegimenVersion.objects.filter(
            regimen_id=version.regimen_id, number=version.number - 1
        ).first()
        if previous is not None and previous.daily_amount != version.daily_amount:
            return "dose"
    return None


def _facts(patient: Patient, version: RegimenVersion, day: date) -> PlanFacts:
    daily = version.daily_amount if version.dose_unit == "mg" else None
    return PlanFacts(age_years=patient.age_on(day), daily_mg=float(daily) if daily else None)


@transaction.atomic
def plan_monitoring(regimen: Regimen, version: RegimenVersion, *, now: datetime | None = None) -> PlanResult:
    """Create the MonitoringDue rows `version` calls for, or cancel them when it stops the regimen.

    Call it in the transaction that saved the version (do_start_regimen, do_change_regimen). It
    is idempotent: the rows are unique per (patient, regimen, kind, due date), so a second call
    creates nothing. A dose change cancels the open steady-state level it makes moot. New rows
    are answered at once by results already recorded inside their window (a baseline drawn the
    week before the start).
    """
    now = now or timezone.now()
    patient = regimen.patient
    today = local_date(now, patient.time_zone)
    if version.status == RegimenStatus.STOPPED:
        return _cancel_on_stop(regimen, version, today)
    event = _event(version)
    if event is None:
        return PlanResult()
    anchor = local_date(version.effective_at, patient.time_zone)
    result = _plan(regimen, drug_for(regimen), event, anchor, _facts(patient, version, anchor), today)
    if result.created or result.cancelled:
        audit_patient_event(
            version.author,
            Action.CREATE,
            "MonitoringDue",
            regimen.pk,
            patient,
            request=None,
            regimen=regimen.pk,
            version=version.number,
            created=result.created,
            cancelled=result.cancelled,
            satisfied=result.satisfied,
            rules=result.rules,
        )
    return result


def _plan(
    regimen: Regimen, drug: Drug, event: Event, anchor: date, facts: PlanFacts, today: date
) -> PlanResult:
    until = max(anchor, today) + timedelta(days=setting("horizon_days"))
    not_before = today - timedelta(days=setting("backfill_days"))
    dues = [d for d in planned_dues(drug, event, anchor, until, facts) if d.due >= not_before]
    result = PlanResult(rules=sorted({d.item.rule_id for d in dues}))
    if not dues:
        return result
    patient = regimen.patient
    existing = set(
        MonitoringDue.objects.filter(
            regimen=regimen, due_date__gte=min(d.due for d in dues), due_date__lte=max(d.due for d in dues)
        ).values_list("kind", "due_date")
    )
    new: dict[tuple[str, date], MonitoringDue] = {}
    for d in dues:
        if (d.test, d.due) not in existing and (d.test, d.due) not in new:
            new[(d.test, d.due)] = MonitoringDue(
                patient=patient,
                regimen=regimen,
                kind=d.test,
                due_date=d.due,
                reason=d.item.reason[:300],
                rule_id=d.item.rule_id,
                source=d.item.cited,
            )
    # A concurrent call may have inserted the same rows: the unique constraint keeps one of each.
    MonitoringDue.objects.bulk_create(new.values(), ignore_conflicts=True)
    result.created = len(new)
    for item in {d.item.rule_id: d.item for d in dues if d.item.supersede}.values():
        first = min(d.due for d in dues if d.item.rule_id == item.rule_id)
        result.cancelled += (
            _open(MonitoringDue.objects.filter(regimen=regimen, rule_id=item.rule_id))
            .filter(due_date__gt=anchor, due_date__lt=first)
            .update(cancelled=True)
        )
    if new:
        result.satisfied = _answer_from_recorded(regimen, min(due for _, due in new))
    return result


def _open(rows: Any) -> Any:
    return rows.filter(satisfied_by__isnull=True, cancelled=False)


def _answer_from_recorded(regimen: Regimen, earliest: date) -> int:
    """Let results already recorded answer the regimen's open rows (newly planned ones included)."""
    rows = list(
        _open(MonitoringDue.objects.filter(regimen=regimen, due_date__gte=earliest)).order_by("due_date")
    )
    kinds = {k for row in rows for k in labs.TESTS[row.kind].lab_kinds if row.kind in labs.TESTS}
    if not rows or not kinds:
        return 0
    reach = max((item.early_days for item in schedule()), default=0)
    since = earliest - timedelta(days=reach + 1)
    tz = regimen.patient.time_zone
    results = LabResult.objects.filter(
        patient_id=regimen.patient_id, kind__in=kinds, observed_at__gte=_start_of(since)
    ).order_by("observed_at")
    answered = 0
    for lab in results:
        chosen = _choose(rows, lab.kind, local_date(lab.observed_at, tz))
        for row in chosen:
            row.satisfied_by = lab
            row.save(update_fields=["satisfied_by"])
        answered += len(chosen)
        rows = [r for r in rows if r.satisfied_by_id is None]
    return answered


def _start_of(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


def _choose(rows: Iterable[MonitoringDue], kind: str, observed: date) -> list[MonitoringDue]:
    """The open rows a result of `kind` observed on `observed` answers, per regimen and test:
    every row already due (the first result since), and the earliest row not yet due whose
    early window the result falls in."""
    tests = set(labs.tests_answered_by(kind))
    items = items_by_rule()
    chosen: list[MonitoringDue] = []
    ahead: set[tuple[int | None, str]] = set()
    for row in sorted(rows, key=lambda r: (r.due_date, r.pk or 0)):
        if row.kind not in tests or row.satisfied_by_id is not None or row.cancelled:
            continue
        if row.due_date <= observed:
            chosen.append(row)
            continue
        item = items.get(row.rule_id)
        early = item.early_days if item else 7
        group = (row.regimen_id, row.kind)
        if group not in ahead and row.due_date - timedelta(days=early) <= observed:
            ahead.add(group)
            chosen.append(row)
    return chosen


def _cancel_on_stop(regimen: Regimen, version: RegimenVersion, today: date) -> PlanResult:
    """Cancel the open rows due from the stop on, and those already past due (moot for a drug no
    longer taken). A stop planned for later keeps the rows due before it."""
    stop = local_date(version.effective_at, regimen.patient.time_zone)
    rows = list(
        _open(MonitoringDue.objects.filter(regimen=regimen)).filter(
            Q(due_date__gte=stop) | Q(due_date__lt=today)
        )
    )
    if not rows:
        return PlanResult()
    MonitoringDue.objects.filter(pk__in=[r.pk for r in rows]).update(cancelled=True)
    if version.author is not None:
        _resolve_overdue(regimen.patient, rows, f"{regimen.drug_name} was stopped.", version.author)
    audit_patient_event(
        version.author,
        Action.UPDATE,
        "MonitoringDue",
        regimen.pk,
        regimen.patient,
        request=None,
        regimen=regimen.pk,
        version=version.number,
        cancelled=len(rows),
    )
    return PlanResult(cancelled=len(rows))


def extend_monitoring(now: datetime, *, limit: int = 200) -> PlanResult:
    """Plan recurring rows further ahead for running regimens whose last one comes within 60 days
    (or half the horizon) of the horizon. Idempotent; safe in several workers at once (the unique
    constraint)."""
    recurring = [item.rule_id for item in schedule() if item.every]
    horizon = setting("horizon_days")
    soon = now.astimezone(UTC).date() + timedelta(days=horizon - min(60, horizon // 2))
    regimens = (
        Regimen.objects.filter(status__in=[RegimenStatus.ACTIVE, RegimenStatus.HELD])
        .annotate(last=Max("monitoring__due_date", filter=Q(monitoring__rule_id__in=recurring)))
        .filter(last__lt=soon)
        .select_related("patient")
        .order_by("last", "pk")[:limit]
    )
    total = PlanResult()
    for regimen in regimens:
        if jobs.stop_requested():
            break
        start = RegimenVersion.objects.filter(regimen=regimen, number=1).first()
        if start is None:
            continue
        patient = regimen.patient
        anchor = local_date(start.effective_at, patient.time_zone)
        today = local_date(now, patient.time_zone)
        with transaction.atomic():
            done = _plan(regimen, drug_for(regimen), "start", anchor, _facts(patient, start, anchor), today)
            if done.created:
                audit_patient_event(
                    None,
                    Action.CREATE,
                    "MonitoringDue",
                    regimen.pk,
                    patient,
                    request=None,
                    regimen=regimen.pk,
                    created=done.created,
                    extended=True,
                )
        total.created += done.created
        total.satisfied += done.satisfied
    return total


# ---------------------------------------------------------------------------------------------
# Recording a result.


@dataclass
class LabRecorded:
    lab: LabResult
    created: bool
    flag: labs.LabFlag
    satisfied: list[MonitoringDue] = field(default_factory=list)
    alert: Alert | None = None  # the alert of an out-of-range result…
    alert_created: bool = False  # …new, or the condition's alert already open


def overdue_key(row: MonitoringDue) -> str:
    return f"lab_overdue:{row.pk}"


def out_of_range_key(kind: str, level: str) -> str:
    """One open alert per lab kind and level: a second high lithium level while the first alert
    is open adds nothing; a critical one is a new condition."""
    return f"lab:{kind}:{level}"


@transaction.atomic
def do_record_lab(
    patient: Patient,
    *,
    kind: str,
    value: Any,
    unit: str,
    observed_at: datetime | None,
    source: str = FillSource.STAFF,
    external_id: str = "",
    note: str = "",
    acting_user: User | None,
    role: str = "",
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> LabRecorded:
    """Record one result; MedicationError names the field that is wrong.

    The same result again (same `external_id`, or same kind, time, value and unit) returns the
    first record: imports and double submits are harmless. The result answers the open
    monitoring rows it satisfies (see `_choose`) and resolves their overdue alerts. Out of range
    (labs.evaluate), it alerts the team's prescriber (urgent when critical, else high) and tells
    the care manager, with the threshold and its source; a result observed more than
    `alert_within_days` ago is flagged without an alert.
    """
    now = now or timezone.now()
    try:
        lab_kind, lab_unit, amount = labs.clean(kind, value, unit)
    except labs.LabInputError as exc:
        raise MedicationError(exc.field, str(exc)) from None
    if observed_at is None:
        raise MedicationError("observed_at", "say when the sample was taken")
    if timezone.is_naive(observed_at):
        raise MedicationError("observed_at", "needs a time zone")
    if observed_at > now + FUTURE_TOLERANCE:
        raise MedicationError("observed_at", "is in the future")
    if local_date(observed_at, patient.time_zone) < patient.date_of_birth:
        raise MedicationError("observed_at", "is before the patient was born")
    if source not in FillSource.values:
        raise MedicationError("source", f"must be one of {', '.join(FillSource.values)}")
    external_id, note = external_id.strip(), note.strip()
    if len(external_id) > 100:
        raise MedicationError("external_id", "is longer than 100 characters")
    if len(note) > 300:
        raise MedicationError("note", "is longer than 300 characters")
    # Serialise results of one patient (PostgreSQL), so that the duplicate check below holds.
    list(Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk", flat=True))
    same = LabResult.objects.filter(patient=patient)
    if external_id:
        same = same.filter(external_id=external_id)
    else:
        same = same.filter(kind=lab_kind.key, observed_at=observed_at, value=amount, unit=lab_unit.name)
    existing = same.first()
    if existing is not None:
        flag = _evaluate(
            patient, existing.kind, existing.value, existing.unit, existing.observed_at, existing.pk
        )
        return LabRecorded(existing, created=False, flag=flag)
    flag = _evaluate(patient, lab_kind.key, amount, lab_unit.name, observed_at, None)
    lab = LabResult.objects.create(
        patient=patient,
        kind=lab_kind.key,
        value=amount,
        unit=lab_unit.name,
        observed_at=observed_at,
        flag=flag.level,
        source=source,
        external_id=external_id,
        note=note,
        entered_by=acting_user,
        created_at=now,
    )
    satisfied = _answer(patient, lab)
    if satisfied and acting_user is not None:
        label = labs.KINDS[lab.kind].label
        when = timezone.localtime(observed_at, patient.tz).strftime("%d %b %Y")
        _resolve_overdue(patient, satisfied, f"{label} recorded for {when}.", acting_user)
    audit_patient_event(
        acting_user,
        Action.CREATE,
        "Observation",
        lab.pk,
        patient,
        request=request,
        role=role,
        kind=lab.kind,
        flag=flag.level,
        rule=flag.rule_id,
        source=source,
        satisfied=[row.pk for row in satisfied],
    )
    recorded = LabRecorded(lab, created=True, flag=flag, satisfied=satisfied)
    if flag.out_of_range and observed_at >= now - timedelta(days=setting("alert_within_days")):
        recorded.alert, recorded.alert_created = _alert_out_of_range(patient, lab, flag)
    return recorded


def _evaluate(
    patient: Patient, kind: str, value: Any, unit: str, observed_at: datetime, exclude: int | None
) -> labs.LabFlag:
    baseline = _weight_baseline(patient, observed_at, exclude) if kind == "weight" else None
    return labs.evaluate(kind, value, unit, organisation=patient.organisation, baseline=baseline)


def _weight_baseline(patient: Patient, observed_at: datetime, exclude: int | None) -> tuple[Any, str] | None:
    """The last weight up to 7 days after the earliest running antipsychotic start (ADA/APA 2004
    compares with the weight before it), when this result is later than that."""
    running = Regimen.objects.filter(
        patient=patient, status__in=[RegimenStatus.ACTIVE, RegimenStatus.HELD], started_at__lte=observed_at
    ).select_related("patient")
    starts = [r.started_at for r in running if "metabolic" in drug_for(r).monitoring]
    if not starts:
        return None
    cutoff = min(starts) + WEIGHT_BASELINE_AFTER_START
    if observed_at <= cutoff:
        return None
    weights = LabResult.objects.filter(patient=patient, kind="weight", observed_at__lte=cutoff)
    if exclude is not None:
        weights = weights.exclude(pk=exclude)
    base = weights.order_by("-observed_at", "-pk").first()
    return (base.value, base.unit) if base is not None else None


def _answer(patient: Patient, lab: LabResult) -> list[MonitoringDue]:
    tests = labs.tests_answered_by(lab.kind)
    observed = local_date(lab.observed_at, patient.time_zone)
    reach = max((item.early_days for item in schedule()), default=0)
    rows = list(
        _open(MonitoringDue.objects.filter(patient=patient, kind__in=tests))
        .filter(due_date__lte=observed + timedelta(days=reach))
        .select_for_update()
        .order_by("due_date", "pk")
    )
    chosen = _choose(rows, lab.kind, observed)
    if chosen:
        MonitoringDue.objects.filter(pk__in=[r.pk for r in chosen]).update(satisfied_by=lab)
        for row in chosen:
            row.satisfied_by = lab
    return chosen


def _resolve_overdue(patient: Patient, rows: list[MonitoringDue], note: str, acting_user: User) -> None:
    keys = [overdue_key(row) for row in rows]
    for alert in Alert.objects.filter(patient=patient, dedup_key__in=keys).exclude(
        status=AlertStatus.RESOLVED
    ):
        do_resolve_alert(alert, note=note, acting_user=acting_user)


def _alert_out_of_range(patient: Patient, lab: LabResult, flag: labs.LabFlag) -> tuple[Alert, bool]:
    kind = labs.KINDS[lab.kind]
    shown = labs.quantity(lab.value, lab.unit)
    when = timezone.localtime(lab.observed_at, patient.tz).strftime("%d %b %Y %H:%M")
    rules = labs.thresholds(lab.kind, patient.organisation)
    threshold = f"{rules.describe(flag.cut)} ({flag.cut.why})" if flag.cut else ""
    confidence = flag.source.confidence if flag.source else "unverified"
    reason = (
        f"{flag.message} Observed {when} ({patient.time_zone}). Threshold: {threshold}. "
        f"Source: {labs.cite(flag.source)}."
        + (
            " This threshold is not confirmed from a source; your organisation can change it."
            if confidence == "unverified"
            else ""
        )
    )
    level = {"critical": "Critical", "high": "High", "low": "Low"}[flag.level]
    return do_raise_alert(
        patient,
        kind=ALERT_KIND,
        severity=Severity.URGENT if flag.level == "critical" else Severity.HIGH,
        title=f"{level} lab result: {kind.label} {shown}",
        reason=reason,
        rule_id=flag.rule_id,
        source=labs.cite(flag.source),
        dedup_key=out_of_range_key(lab.kind, flag.level),
        route_to=list(ROUTE_TO),
        notify_roles=list(NOTIFY),
        subject=lab,
    )


# ---------------------------------------------------------------------------------------------
# Overdue monitoring.


@dataclass
class OverdueResult:
    raised: int = 0
    not_yet: int = 0


def evaluate_overdue(now: datetime, *, limit: int = 500) -> OverdueResult:
    """Raise one alert per open row more than `overdue_grace_days` past its due date (the
    patient's local date), never twice for a row, even after its alert was resolved: the rows
    that already have an alert are left out by the query. Safe in several workers at once
    (do_raise_alert keeps one open alert per row)."""
    grace = setting("overdue_grace_days")
    # A zone far ahead of UTC is a day later: the query takes a day too many, Python sorts it out.
    latest = now.astimezone(UTC).date() + timedelta(days=1) - timedelta(days=grace)
    alerted = Alert.objects.filter(
        patient_id=OuterRef("patient_id"),
        dedup_key=Concat(Value("lab_overdue:"), Cast(OuterRef("pk"), output_field=CharField())),
    )
    rows = (
        _open(MonitoringDue.objects.filter(due_date__lt=latest))
        .exclude(regimen__status=RegimenStatus.STOPPED)
        .filter(~Exists(alerted))
        .select_related("patient", "regimen")
        .order_by("due_date", "pk")[:limit]
    )
    result = OverdueResult()
    for row in rows:
        if jobs.stop_requested():
            break
        late = (local_date(now, row.patient.time_zone) - row.due_date).days
        if late <= grace:
            result.not_yet += 1
            continue
        with transaction.atomic():
            _, created = _alert_overdue(row, late)
        result.raised += int(created)
    return result


def _alert_overdue(row: MonitoringDue, late: int) -> tuple[Alert, bool]:
    item = item_for(row.rule_id)
    label = labs.test_label(row.kind)
    drug = f" ({row.regimen.drug_name})" if row.regimen else ""
    return do_raise_alert(
        row.patient,
        kind=OVERDUE_KIND,
        severity=item.overdue if item else Severity.ROUTINE,
        title=f"Lab overdue: {label}{drug}",
        reason=(
            f"{label} was due on {row.due_date:%d %b %Y}{drug} and no result has been recorded "
            f"{late} days later (alerts after {setting('overdue_grace_days')} days). Why it was due: "
            f"{row.reason}. Rule {row.rule_id}. Source: {row.source or 'not recorded'}."
        ),
        rule_id=row.rule_id or "lab-overdue",
        source=row.source,
        dedup_key=overdue_key(row),
        route_to=list(ROUTE_TO),
        notify_roles=list(NOTIFY),
        subject=row,
    )


# ---------------------------------------------------------------------------------------------
# Reading, for the pages.


@dataclass
class Overview:
    overdue: list[MonitoringDue]
    upcoming: list[MonitoringDue]
    later: int


def overview(patient: Patient, today: date, *, ahead_days: int = 90, limit: int = 100) -> Overview:
    """Open rows up to `ahead_days` from today (past due first), and how many come later: two queries."""
    rows = list(
        _open(MonitoringDue.objects.filter(patient=patient, due_date__lte=today + timedelta(days=ahead_days)))
        .exclude(regimen__status=RegimenStatus.STOPPED)
        .select_related("regimen")
        .order_by("due_date", "kind", "pk")[:limit]
    )
    later = (
        _open(MonitoringDue.objects.filter(patient=patient, due_date__gt=today + timedelta(days=ahead_days)))
        .exclude(regimen__status=RegimenStatus.STOPPED)
        .count()
    )
    return Overview(
        overdue=[r for r in rows if r.due_date < today],
        upcoming=[r for r in rows if r.due_date >= today],
        later=later,
    )


def items_by_rule() -> Mapping[str, ScheduleItem]:
    return {item.rule_id: item for item in schedule()}
