"""Recomputing treat-to-target signals and raising the alerts that need action.

`evaluate(patient_ids, now)` reads a batch's facts in a fixed number of queries (inputs.gather),
applies the pure rules (rules.assess, adequacy.judge), writes one TreatmentSignal per patient and
instrument in one upsert, and raises the batch's alerts together through
tandem.collab.batch.do_raise_alerts (do_raise_alert's alerts, one insert per table):

- `t2t.needs_case_review` (routine, to the care manager and the psychiatric consultant): no
  ≥ 50 % improvement by 10 weeks;
- `t2t.early_non_improvement` (routine, to the care manager and the prescriber);
- `t2t.reliable_deterioration` (high, to the care manager, the prescriber and the therapist).

Each alert states the rule's reasoning and the adequacy verdict. One open alert per patient,
rule and instrument (the dedup key); once resolved, the same condition is raised again only on
a newer score than the resolution. `evaluate_all(now)` runs the whole population in batches of
patients who have a PHQ-9 or GAD-7 score; `recompute_after_commit` is the hook run after each
scored response.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Max, Q
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.models import Role
from tandem.collab.batch import AlertToRaise, do_raise_alerts
from tandem.collab.models import Alert, AlertStatus, Severity
from tandem.core import jobs
from tandem.measures import definitions
from tandem.measures.models import InstrumentResponse, TreatmentSignal
from tandem.measures.signals import deferred
from tandem.measures.signals.adequacy import RULES, AdequacyRules, judge
from tandem.measures.signals.inputs import PatientInputs, gather
from tandem.measures.signals.rules import CONFIGURABLE_NOTE, INSTRUMENTS, Assessment, Thresholds, assess
from tandem.patients.models import Patient

logger = logging.getLogger(__name__)

ALERT_KIND = "treat_to_target"
BATCH = 2000
EVERY_SECONDS = 6 * 3600  # days in treatment and adherence move slowly; six-hourly is enough


@dataclass(frozen=True)
class AlertRule:
    rule_id: str
    finding: str
    severity: str
    title: str
    route_to: tuple[str, ...]


ALERT_RULES = (
    AlertRule(
        "t2t.reliable_deterioration",
        "reliable_deterioration",
        Severity.HIGH,
        "{name} reliably worse",
        (Role.CARE_MANAGER, Role.PRESCRIBER, Role.THERAPIST),
    ),
    AlertRule(
        "t2t.needs_case_review",
        "needs_case_review",
        Severity.ROUTINE,
        "Needs case review: no {name} response by 10–12 weeks",
        (Role.CARE_MANAGER, Role.PSYCHIATRIC_CONSULTANT),
    ),
    AlertRule(
        "t2t.early_non_improvement",
        "early_non_improvement",
        Severity.ROUTINE,
        "Early non-improvement on the {name}",
        (Role.CARE_MANAGER, Role.PRESCRIBER),
    ),
)


@dataclass
class SignalRun:
    patients: int = 0
    signals: int = 0
    raised: int = 0
    open_already: int = 0
    batches: int = 0
    states: dict[str, int] | None = None

    def __str__(self) -> str:
        states = ", ".join(f"{n} {s}" for s, n in sorted((self.states or {}).items()))
        return (
            f"{self.patients} patients in {self.batches} batches: {self.signals} signals ({states}); "
            f"{self.raised} alerts raised, {self.open_already} already open"
        )


def dedup_key(rule: AlertRule, instrument: str) -> str:
    return f"{rule.rule_id}:{instrument}"


def assess_patient(
    pi: PatientInputs,
    instrument: str,
    *,
    rules: AdequacyRules = RULES,
    thresholds: Thresholds | None = None,
) -> tuple[Assessment, Any]:
    assessment = assess(
        instrument,
        pi.scores.get(instrument, []),
        treatment_start=pi.treatment_start,
        adequate_dose_since=pi.adequate_dose_since,
        thresholds=thresholds,
    )
    return assessment, judge(pi.facts, rules)


COLUMNS = (
    "patient_id",
    "instrument",
    "state",
    "baseline_total",
    "baseline_at",
    "latest_total",
    "latest_at",
    "improvement_percent",
    "days",
    "adequacy",
    "reasons",
    "computed_at",
)


def _row(pi: PatientInputs, assessment: Assessment, adequacy: Any, now: datetime) -> tuple[Any, ...]:
    ops = connection.ops
    baseline, latest = assessment.baseline, assessment.latest
    return (
        pi.patient_id,
        assessment.instrument,
        assessment.state,
        baseline.total if baseline else None,
        ops.adapt_datetimefield_value(baseline.at) if baseline else None,
        latest.total if latest else None,
        ops.adapt_datetimefield_value(latest.at) if latest else None,
        assessment.fall_percent,
        assessment.days,
        adequacy.verdict,
        ops.adapt_json_value(_reasons(assessment, adequacy, pi), None),
        ops.adapt_datetimefield_value(now),
    )


def _upsert(rows: list[tuple[Any, ...]]) -> None:
    """One INSERT … ON CONFLICT DO UPDATE for the batch (SQLite ≥ 3.24 and PostgreSQL): the
    signal table is a read model, rewritten in place."""
    if not rows:
        return
    qn = connection.ops.quote_name
    table = qn(TreatmentSignal._meta.db_table)
    updates = ", ".join(f"{qn(c)} = excluded.{qn(c)}" for c in COLUMNS[2:])
    # The identifiers are the model's own and every value is a parameter.
    sql = " ".join(
        [
            "INSERT INTO",
            table,
            "(" + ", ".join(qn(c) for c in COLUMNS) + ")",
            "VALUES (" + ", ".join(["%s"] * len(COLUMNS)) + ")",
            "ON CONFLICT (" + qn("patient_id") + ", " + qn("instrument") + ")",
            "DO UPDATE SET",
            updates,
        ]
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _reasons(assessment: Assessment, adequacy: Any, pi: PatientInputs) -> dict[str, Any]:
    return {
        "label": assessment.label,
        "inputs": assessment.inputs,
        "findings": [f.as_dict() for f in assessment.findings],
        "adequacy": adequacy.as_dict(),
        "show_adequacy": assessment.not_improving,
        "treatment_start": pi.treatment_start.isoformat() if pi.treatment_start else None,
        "adequate_dose_since": pi.adequate_dose_since.isoformat() if pi.adequate_dose_since else None,
        "scores": len(pi.scores.get(assessment.instrument, [])),
        "configurable": CONFIGURABLE_NOTE[assessment.instrument],
    }


def evaluate(
    patient_ids: list[int], now: datetime, run: SignalRun | None = None, *, rules: AdequacyRules = RULES
) -> SignalRun:
    """One batch: eight reads, one upsert, then the alerts raised together (tandem.collab.batch)."""
    run = run or SignalRun(states={})
    if run.states is None:
        run.states = {}
    inputs = gather(patient_ids, now, rules)
    rows: list[tuple[Any, ...]] = []
    needs: list[tuple[PatientInputs, Assessment, Any]] = []
    for pi in inputs.values():
        run.patients += 1
        adequacy = None
        for instrument in INSTRUMENTS:
            if instrument not in pi.scores:
                continue
            adequacy = adequacy or judge(pi.facts, rules)
            assessment = assess(
                instrument,
                pi.scores[instrument],
                treatment_start=pi.treatment_start,
                adequate_dose_since=pi.adequate_dose_since,
            )
            rows.append(_row(pi, assessment, adequacy, now))
            run.states[assessment.state] = run.states.get(assessment.state, 0) + 1
            if any(assessment.fired(r.finding) for r in ALERT_RULES):
                needs.append((pi, assessment, adequacy))
    _upsert(rows)
    run.signals += len(rows)
    if needs:
        _raise_alerts(needs, run)
    return run


def _raise_alerts(needs: list[tuple[PatientInputs, Assessment, Any]], run: SignalRun) -> None:
    ids = sorted({pi.patient_id for pi, _, _ in needs})
    scope: dict[str, Any] = (
        {"patient_id__gte": ids[0], "patient_id__lte": ids[-1]}
        if ids[-1] - ids[0] < 2 * len(ids)
        else {"patient_id__in": ids}
    )
    states = {
        (row["patient_id"], row["dedup_key"]): (row["open"] > 0, row["last_resolved"])
        for row in Alert.objects.filter(**scope, kind=ALERT_KIND)
        .order_by()
        .values("patient_id", "dedup_key")
        .annotate(open=Count("id", filter=~Q(status=AlertStatus.RESOLVED)), last_resolved=Max("resolved_at"))
    }
    received = {
        (row["patient_id"], row["instrument"]): row["last"]
        for row in InstrumentResponse.objects.filter(
            patient_id__in=ids, instrument__in=INSTRUMENTS, scored=True
        )
        .order_by()
        .values("patient_id", "instrument")
        .annotate(last=Max("received_at"))
    }
    patients: dict[int, Patient] = {}
    wanted: list[AlertToRaise] = []
    for pi, assessment, adequacy in needs:
        instrument = assessment.instrument
        for rule in ALERT_RULES:
            if not assessment.fired(rule.finding):
                continue
            key = dedup_key(rule, instrument)
            is_open, resolved = states.get((pi.patient_id, key), (False, None))
            if is_open:
                run.open_already += 1
                continue
            last = received.get((pi.patient_id, instrument))
            if resolved is not None and last is not None and last <= resolved:
                continue  # the resolution already saw this score: wait for a new one
            if pi.patient_id not in patients:
                patients.update({p.pk: p for p in Patient.objects.filter(pk__in=ids)})
            wanted.append(_alert(patients[pi.patient_id], rule, assessment, adequacy))
    for _, created in do_raise_alerts(wanted):  # one insert per table for the batch
        if created:
            run.raised += 1
        else:
            run.open_already += 1


def _alert(patient: Patient, rule: AlertRule, assessment: Assessment, adequacy: Any) -> AlertToRaise:
    name = definitions.get(assessment.instrument).short_name
    finding = next(f for f in assessment.findings if f.rule == rule.finding)
    return AlertToRaise(
        patient,
        kind=ALERT_KIND,
        severity=rule.severity,
        title=rule.title.format(name=name),
        reason=f"{finding.text} {adequacy.text()}",
        rule_id=rule.rule_id,
        source=finding.cite,
        dedup_key=dedup_key(rule, assessment.instrument),
        route_to=list(rule.route_to),
        link=reverse(
            "measures:trend", kwargs={"patient_id": patient.pk, "instrument": assessment.instrument}
        ),
    )


def evaluate_patient(patient: Patient | int, now: datetime | None = None) -> SignalRun:
    return evaluate([patient if isinstance(patient, int) else patient.pk], now or timezone.now())


def evaluate_all(now: datetime | None = None, batch: int = BATCH) -> SignalRun:
    """Every patient with a scored PHQ-9 or GAD-7, `batch` at a time in id order; stops between
    batches when the worker is asked to stop (the next run starts over)."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    now = now or timezone.now()
    run = SignalRun(states={})
    ids = list(
        InstrumentResponse.objects.filter(instrument__in=INSTRUMENTS, scored=True, patient__is_active=True)
        .order_by("patient_id")
        .values_list("patient_id", flat=True)
        .distinct()
    )
    for start in range(0, len(ids), batch):
        if jobs.stop_requested():
            break
        run.batches += 1
        evaluate(ids[start : start + batch], now, run)
    return run


def _after_commit(patient_id: int) -> None:
    try:
        evaluate([patient_id], timezone.now())
    except Exception:  # the response is stored; the periodic job will catch up
        logger.exception("treat-to-target signals for patient %s could not be recomputed", patient_id)


def recompute_after_commit(sender: Any, instance: InstrumentResponse, created: bool, **kwargs: Any) -> None:
    """post_save of InstrumentResponse: once the response is committed, recompute its patient's
    signals (a scored PHQ-9 or GAD-7 only)."""
    if created and instance.scored and instance.instrument in INSTRUMENTS and not kwargs.get("raw"):
        patient_id = instance.patient_id
        if deferred.defer(patient_id):  # inside deferred_recompute(): evaluated once at its end
            return
        transaction.on_commit(lambda: _after_commit(patient_id))


def register_jobs() -> None:
    jobs.register("measures.treat_to_target", EVERY_SECONDS, lambda now: evaluate_all(now))
