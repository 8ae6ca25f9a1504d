"""Non-adherence signals, evaluated by a periodic job (tandem/medications/jobs.py).

Two conditions raise an alert of kind "non_adherence" to the prescriber and the care manager,
each citing its rule and source (adherence.SOURCES):

- `doses.missed_in_a_row`: an active regimen taken at set times has MISSED_IN_A_ROW_SIGNAL (3)
  or more scheduled doses missed in a row — not recorded as taken within the 48-hour
  late-logging window (adherence.resolve_doses, missed_in_a_row). One open alert per regimen.
- `pdc.below_80`: the refill-based PDC of a drug class the patient currently takes is below
  80 % over the measurement period (fills.PDC_PERIOD_DAYS) while the patient is eligible
  (adherence.pdc_below_threshold). One open alert per class. Only classes of active regimens
  taken at set times are watched: a medicine that was stopped is not one the patient fails to
  refill, and one taken as needed is not meant to be refilled on time.

Once a clinician resolves an alert, the same condition is only raised again on new evidence:
missed doses count from the resolution on (so a fresh run of 3 is needed), and a class's PDC
alert stays quiet for PDC_QUIET after its resolution (a product setting, not in §F).

Running it twice, or in two workers at once, raises nothing twice: an open condition is skipped
and the alert table allows one open alert per (patient, dedup_key). A batch of patients costs a
fixed number of queries (at most six) plus the writes of the alerts it raises.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.utils import timezone

from tandem.accounts.models import Role
from tandem.collab.actions import do_raise_alert
from tandem.collab.models import Alert, AlertStatus, Severity
from tandem.core import jobs
from tandem.lib.timezones import local_date
from tandem.medications import adherence, catalog
from tandem.medications.adherence import (
    DOSE_RULES,
    MISSED_IN_A_ROW_SIGNAL,
    PQA,
    SOURCES,
    DoseRecord,
    DoseRules,
    PdcResult,
    PdcRules,
)
from tandem.medications.fills import PDC_PERIOD_DAYS, as_pdc_fills, pdc_period, regimen_class
from tandem.medications.models import (
    DoseLog,
    Fill,
    Regimen,
    RegimenStatus,
    RegimenVersion,
    ScheduleKind,
)
from tandem.medications.queries import spans
from tandem.medications.schedule import DueDose, due_doses
from tandem.patients.models import Patient

ALERT_KIND = "non_adherence"
RULE_MISSED = "doses.missed_in_a_row"
RULE_PDC = "pdc.below_80"
ROUTE_TO = [Role.PRESCRIBER, Role.CARE_MANAGER]
MISSED_SEVERITY = Severity.HIGH
# A refill gap builds up over weeks: reviewed in the normal course, not at once.
PDC_SEVERITY = Severity.ROUTINE
# Product setting, not in §F: after a PDC alert is resolved its class stays quiet this long.
PDC_QUIET = timedelta(days=30)
# How far back doses are read to find a run of missed ones (longer for every-N-days regimens).
MISSED_LOOKBACK_DAYS = 14
BATCH = 500


def missed_key(regimen_id: int) -> str:
    return f"missed:{regimen_id}"


def pdc_key(drug_class: str) -> str:
    return f"pdc:{drug_class}"


@dataclass
class SignalRun:
    patients: int = 0
    raised: int = 0
    open_already: int = 0  # conditions that hold and already have an open alert
    batches: int = 0

    def __str__(self) -> str:
        return (
            f"{self.patients} patients in {self.batches} batches: {self.raised} alerts raised, "
            f"{self.open_already} conditions already alerted"
        )


@dataclass
class _AlertState:
    open: bool
    last_resolved: datetime | None


def _lookback_days(regimen: Regimen) -> int:
    every = regimen.current.every_days if regimen.current is not None else 1
    return max(MISSED_LOOKBACK_DAYS, (MISSED_IN_A_ROW_SIGNAL + 1) * every + 3)


def _scheduled(regimen: Regimen) -> bool:
    current = regimen.current
    return current is not None and current.schedule_kind == ScheduleKind.SCHEDULED


def _record(log: DoseLog) -> DoseRecord:
    assert log.due_at is not None
    status = cast(adherence.DoseStatus, log.status)
    return DoseRecord(regimen_id=log.regimen_id, due_at=log.due_at, status=status, taken_at=log.taken_at)


def _evaluate(
    patients: list[Patient],
    now: datetime,
    run: SignalRun,
    *,
    pdc_rules: PdcRules,
    dose_rules: DoseRules,
    days: int,
) -> None:
    """One batch: at most six queries to read, then one transaction per alert raised."""
    if not patients:
        return
    ids = [p.pk for p in patients]
    regimens: dict[int, list[Regimen]] = defaultdict(list)
    for regimen in (
        Regimen.objects.filter(patient_id__in=ids, status=RegimenStatus.ACTIVE)
        .select_related("current")
        .order_by("patient_id", "drug_name", "pk")
    ):
        regimens[regimen.patient_id].append(regimen)
    scheduled = [r for rs in regimens.values() for r in rs if _scheduled(r)]
    versions: dict[int, list[RegimenVersion]] = defaultdict(list)
    for version in RegimenVersion.objects.filter(regimen__in=scheduled).order_by(
        "regimen_id", "effective_at"
    ):
        versions[version.regimen_id].append(version)
    lookback = max((_lookback_days(r) for r in scheduled), default=MISSED_LOOKBACK_DAYS)
    logs: dict[int, list[DoseRecord]] = defaultdict(list)
    for log in DoseLog.objects.filter(
        regimen__in=scheduled, due_at__isnull=False, due_at__gte=now - timedelta(days=lookback + 2)
    ).only("regimen_id", "due_at", "status", "taken_at"):
        logs[log.regimen_id].append(_record(log))
    todays = {p.pk: local_date(now, p.time_zone) for p in patients}
    periods = {pk: pdc_period(today, days) for pk, today in todays.items()}
    fills: dict[int, list[Fill]] = defaultdict(list)
    for fill in Fill.objects.filter(
        patient_id__in=ids,
        fill_date__gte=min(start for start, _ in periods.values()),
        fill_date__lte=max(end for _, end in periods.values()),
    ).only("patient_id", "drug_key", "drug_class", "fill_date", "days_supply"):
        fills[fill.patient_id].append(fill)
    states = {
        (row["patient_id"], row["dedup_key"]): _AlertState(row["open"] > 0, row["last_resolved"])
        for row in Alert.objects.filter(patient_id__in=ids, kind=ALERT_KIND)
        .order_by()
        .values("patient_id", "dedup_key")
        .annotate(open=Count("id", filter=~Q(status=AlertStatus.RESOLVED)), last_resolved=Max("resolved_at"))
    }
    for patient in patients:
        run.patients += 1
        mine = regimens.get(patient.pk, [])
        today = todays[patient.pk]
        timed = [r for r in mine if _scheduled(r)]
        if timed:
            anchors = {r.pk: local_date(r.started_at, patient.time_zone) for r in timed}
            first_day = today - timedelta(days=max(_lookback_days(r) for r in timed))
            due = due_doses(
                spans([v for r in timed for v in versions.get(r.pk, [])], patient.time_zone, anchors),
                patient.time_zone,
                first_day,
                today,
            )
            for regimen in timed:
                _check_missed(patient, regimen, due, logs.get(regimen.pk, []), states, now, run, dose_rules)
            # PDC of the classes of medicines taken at set times: as-needed ones are not meant to
            # be refilled on time.
            start, end = periods[patient.pk]
            results = adherence.pdc_by_class(
                as_pdc_fills(fills.get(patient.pk, [])), start, end, rules=pdc_rules
            )
            names = {regimen_class(r): r.drug_name for r in timed}
            for drug_class in sorted(names):
                result = results.get(drug_class)
                if result is not None and adherence.pdc_below_threshold(result):
                    _check_pdc(patient, result, names[drug_class], states, now, run)


def _raise(
    patient: Patient,
    run: SignalRun,
    *,
    severity: str,
    title: str,
    reason: str,
    rule_id: str,
    source: str,
    dedup_key: str,
    subject: object = None,
) -> None:
    # The alert, its audit row and its notifications commit together.
    with transaction.atomic():
        _, created = do_raise_alert(
            patient,
            kind=ALERT_KIND,
            severity=severity,
            title=title,
            reason=reason,
            rule_id=rule_id,
            source=source,
            dedup_key=dedup_key,
            route_to=list(ROUTE_TO),
            subject=subject,
        )
    if created:
        run.raised += 1
    else:
        run.open_already += 1


def _check_missed(
    patient: Patient,
    regimen: Regimen,
    due: list[DueDose],
    records: list[DoseRecord],
    states: dict[tuple[int, str], _AlertState],
    now: datetime,
    run: SignalRun,
    rules: DoseRules,
) -> None:
    key = missed_key(regimen.pk)
    state = states.get((patient.pk, key))
    if state is not None and state.open:
        run.open_already += 1
        return
    since = state.last_resolved if state is not None else None
    mine = [d for d in due if d.regimen_id == regimen.pk and (since is None or d.due_at > since)]
    resolved = adherence.resolve_doses(mine, records, now=now, rules=rules)
    count = adherence.missed_in_a_row(resolved)
    if count < MISSED_IN_A_ROW_SIGNAL:
        return
    streak = resolved[-count:]
    tz = patient.tz
    first, last = (timezone.localtime(streak[0].due_at, tz), timezone.localtime(streak[-1].due_at, tz))
    hours = int(rules.grace.total_seconds() // 3600)
    _raise(
        patient,
        run,
        severity=MISSED_SEVERITY,
        title=f"{count} missed doses in a row: {regimen.drug_name}",
        reason=(
            f"The last {count} scheduled doses of {regimen.drug_name}, due from {first:%a %d %b %H:%M} to "
            f"{last:%a %d %b %H:%M} ({patient.time_zone}), were not recorded as taken within {hours} hours "
            f"of their time. {MISSED_IN_A_ROW_SIGNAL} or more in a row raise this alert. Doses skipped on "
            "purpose or taken late end a run. Ask the patient: they may have taken the doses without "
            "recording them, stopped on purpose, or run out."
        ),
        rule_id=RULE_MISSED,
        source=f"{SOURCES['missed_in_a_row']} {SOURCES['dose_grace']}",
        dedup_key=key,
        subject=regimen,
    )


def _check_pdc(
    patient: Patient,
    result: PdcResult,
    drug_name: str,
    states: dict[tuple[int, str], _AlertState],
    now: datetime,
    run: SignalRun,
) -> None:
    key = pdc_key(result.drug_class)
    state = states.get((patient.pk, key))
    if state is not None and state.open:
        run.open_already += 1
        return
    if state is not None and state.last_resolved is not None and now - state.last_resolved < PDC_QUIET:
        return
    label = catalog.classes().get(result.drug_class, drug_name)
    percent = int((result.pdc or 0) * 100)
    threshold = int(result.threshold * 100)
    _raise(
        patient,
        run,
        severity=PDC_SEVERITY,
        title=f"Refill adherence (PDC) below {threshold} %: {label}",
        reason=(
            f"Proportion of days covered for {label}: {percent} % — {result.days_covered} of "
            f"{result.days_in_period} days from the first fill of the period ({result.index_date}) to "
            f"{result.period_end} were covered by recorded fills; {threshold} % or more is adherent (PQA). "
            "Computed from the fills recorded in Tandem (entered by staff, reported by the patient or "
            "imported): a fill from a pharmacy that was not recorded is missing here, so check with the "
            "patient or pharmacy before concluding non-adherence."
        ),
        rule_id=RULE_PDC,
        source=SOURCES["pdc_threshold"],
        dedup_key=key,
    )


def evaluate_patient(
    patient: Patient,
    now: datetime,
    *,
    pdc_rules: PdcRules = PQA,
    dose_rules: DoseRules = DOSE_RULES,
    days: int = PDC_PERIOD_DAYS,
) -> SignalRun:
    """Evaluate one patient's signals as of `now`, raising alerts for new conditions."""
    run = SignalRun(batches=1)
    _evaluate([patient], now, run, pdc_rules=pdc_rules, dose_rules=dose_rules, days=days)
    return run


def evaluate_all(
    now: datetime,
    batch: int = BATCH,
    *,
    pdc_rules: PdcRules = PQA,
    dose_rules: DoseRules = DOSE_RULES,
    days: int = PDC_PERIOD_DAYS,
) -> SignalRun:
    """Every active patient with an active regimen, `batch` patients at a time in id order.
    Stops between batches when the worker is asked to stop (the next run starts over)."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    run = SignalRun()
    active = Regimen.objects.filter(patient=OuterRef("pk"), status=RegimenStatus.ACTIVE)
    last_id = 0
    while not jobs.stop_requested():
        patients = list(
            Patient.objects.filter(Exists(active), is_active=True, pk__gt=last_id).order_by("pk")[:batch]
        )
        if not patients:
            break
        run.batches += 1
        _evaluate(patients, now, run, pdc_rules=pdc_rules, dose_rules=dose_rules, days=days)
        last_id = patients[-1].pk
        if len(patients) < batch:
            break
    return run
