"""The facts the treat-to-target rules read, for a batch of patients at once: a fixed number of
queries per batch (responses, regimens and their versions, fills, dose logs, sessions), never
one per patient. The population job reads 100 000 patients this way.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, Min, Q, QuerySet

from tandem.lib.timezones import local_date
from tandem.measures.models import InstrumentResponse
from tandem.measures.signals.adequacy import AdequacyRules, ClassPdc, Facts, Medication
from tandem.measures.signals.rules import INSTRUMENTS, Score
from tandem.medications import adherence, catalog
from tandem.medications.fills import PDC_PERIOD_DAYS, ingredient, pdc_period
from tandem.medications.models import (
    DoseLog,
    Fill,
    Regimen,
    RegimenStatus,
    RegimenVersion,
    ScheduleKind,
)
from tandem.medications.schedule import VersionSpan, due_doses, parse_times
from tandem.patients.models import Patient
from tandem.therapy.models import Session, SessionKind, SessionStatus
from tandem.therapy.rules import attendance


@dataclass
class PatientInputs:
    patient_id: int
    time_zone: str
    scores: dict[str, list[Score]] = field(default_factory=dict)
    treatment_start: datetime | None = None
    adequate_dose_since: datetime | None = None
    facts: Facts = field(default_factory=Facts)


@dataclass(frozen=True, slots=True)
class _Version:
    pk: int
    effective_at: datetime
    status: str
    dose_amount: Decimal
    dose_unit: str
    schedule_kind: str
    times: list[str]
    every_days: int

    @property
    def daily(self) -> float:
        """Scheduled amount per day, as RegimenVersion.daily_amount (0 when not taken at set times)."""
        if self.status != RegimenStatus.ACTIVE or self.schedule_kind != ScheduleKind.SCHEDULED:
            return 0.0
        return float(self.dose_amount) * len(self.times) / max(1, self.every_days)


@dataclass
class _Regimen:
    pk: int
    name: str
    drug_key: str
    drug_class: str
    started_at: datetime
    versions: list[_Version] = field(default_factory=list)

    @property
    def current(self) -> _Version | None:
        return self.versions[-1] if self.versions else None

    @property
    def scheduled(self) -> bool:
        v = self.current
        return (
            v is not None and v.status == RegimenStatus.ACTIVE and v.schedule_kind == ScheduleKind.SCHEDULED
        )


def _rows(queryset: QuerySet[Any]) -> list[tuple[Any, ...]]:
    """A values_list query's rows without Django's per-value converters: 100 000 patients'
    responses are millions of values and the converters are most of their cost. Datetimes come
    back aware from PostgreSQL and naive (in UTC) from SQLite: see `_aware`."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _usual_min(drug_key: str) -> float | None:
    try:
        return catalog.get(drug_key).dose_min_mg
    except KeyError:
        return None


def _adequate_since(regimen: _Regimen) -> datetime | None:
    """When the current run of versions at or above the usual minimum began (None if the current
    dose is below it or not comparable)."""
    low = _usual_min(regimen.drug_key)
    if low is None:
        return None
    since = None
    for v in regimen.versions:
        ok = (
            v.status == RegimenStatus.ACTIVE
            and v.schedule_kind == ScheduleKind.SCHEDULED
            and v.dose_unit == "mg"
            and v.daily >= low
        )
        since = (since or v.effective_at) if ok else None
    return since


def gather(patient_ids: list[int], now: datetime, rules: AdequacyRules) -> dict[int, PatientInputs]:
    """Seven queries for the whole batch. A batch of nearly consecutive ids is read by id range
    (much cheaper than a long IN list); rows of patients outside the batch are ignored."""
    if not patient_ids:
        return {}
    lo, hi = min(patient_ids), max(patient_ids)
    wanted = set(patient_ids)
    if hi - lo < 2 * len(wanted):
        scope: dict[str, Any] = {"patient_id__gte": lo, "patient_id__lte": hi}
        people = Patient.objects.filter(pk__gte=lo, pk__lte=hi)
    else:
        scope = {"patient_id__in": sorted(wanted)}
        people = Patient.objects.filter(pk__in=sorted(wanted))
    out = {pk: PatientInputs(pk, tz) for pk, tz in people.values_list("pk", "time_zone") if pk in wanted}
    if not out:
        return out
    for pid, instrument, rid, total, authored in _rows(
        InstrumentResponse.objects.filter(**scope, instrument__in=INSTRUMENTS, scored=True)
        .order_by("patient_id", "authored_at", "id")
        .values_list("patient_id", "instrument", "id", "total", "authored_at")
    ):
        pi = out.get(pid)
        if (
            pi is None or total is None
        ):  # scored=True always has a total (a check constraint); kept for the types
            continue
        pi.scores.setdefault(instrument, []).append(Score(_aware(authored), total, rid))

    regimens: dict[int, _Regimen] = {}
    by_patient: dict[int, list[_Regimen]] = defaultdict(list)
    for pk, pid, key, name, classes, started in Regimen.objects.filter(
        **scope, status=RegimenStatus.ACTIVE
    ).values_list("pk", "patient_id", "drug_key", "drug_name", "drug_classes", "started_at"):
        # The class PDC reports a regimen under (tandem.medications.fills.regimen_class).
        if pid not in out:
            continue
        r = _Regimen(pk, name, key, ((classes[0] if classes else key) or key)[:40], started)
        regimens[pk] = r
        by_patient[pid].append(r)
    if regimens:
        for rid, *values in (
            RegimenVersion.objects.filter(
                **{f"regimen__{k}": v for k, v in scope.items()},
                regimen__status=RegimenStatus.ACTIVE,
                effective_at__lte=now,
            )
            .order_by("regimen_id", "effective_at", "number")
            .values_list(
                "regimen_id",
                "pk",
                "effective_at",
                "status",
                "dose_amount",
                "dose_unit",
                "schedule_kind",
                "times",
                "every_days",
            )
        ):
            if rid in regimens:
                regimens[rid].versions.append(_Version(*values))

    today = {pk: local_date(now, pi.time_zone) for pk, pi in out.items()}
    fills: dict[int, list[adherence.Fill]] = defaultdict(list)
    if by_patient:
        first = min(pdc_period(today[pid])[0] for pid in by_patient)
        for pid, key, cls, day, supply in Fill.objects.filter(
            **scope, fill_date__gte=first, fill_date__lte=max(today.values())
        ).values_list("patient_id", "drug_key", "drug_class", "fill_date", "days_supply"):
            if pid in by_patient:
                fills[pid].append(adherence.Fill(ingredient(key), cls or key, day, supply))

    window = timedelta(days=rules.dose_window_days + 2)
    logs: dict[int, list[adherence.DoseRecord]] = defaultdict(list)
    if by_patient:
        for pid, rid, due, status, taken_at in DoseLog.objects.filter(
            **scope, due_at__gte=now - window, due_at__lte=now
        ).values_list("patient_id", "regimen_id", "due_at", "status", "taken_at"):
            if status in adherence.STATUSES and due is not None and pid in by_patient:
                logs[pid].append(adherence.DoseRecord(rid, due, cast(adherence.DoseStatus, status), taken_at))

    sessions: dict[int, list[tuple[str, bool]]] = defaultdict(list)
    first_attended: dict[int, datetime] = {}
    for row in (
        Session.objects.filter(**scope, kind=SessionKind.THERAPY)
        .order_by()
        .values("patient_id", "status")
        .annotate(
            total=Count("id"),
            past=Count("id", filter=Q(starts_at__lte=now)),
            first=Min("starts_at", filter=Q(starts_at__lte=now)),
        )
    ):
        pid = row["patient_id"]
        if pid not in out:
            continue
        sessions[pid] += [(row["status"], True)] * row["past"] + [(row["status"], False)] * (
            row["total"] - row["past"]
        )
        if row["status"] == SessionStatus.ATTENDED and row["first"] is not None:
            first_attended[pid] = row["first"]

    for pid, pi in out.items():
        mine = [r for r in by_patient.get(pid, []) if r.scheduled]
        starts = [r.started_at for r in mine]
        if pid in first_attended:
            starts.append(first_attended[pid])
        pi.treatment_start = min(starts) if starts else None
        since = [_adequate_since(r) for r in mine]
        adequate = [s for s in since if s is not None]
        pi.adequate_dose_since = max(adequate) if mine and len(adequate) == len(mine) else None
        meds = [
            Medication(
                r.name,
                cast(_Version, r.current).daily,
                cast(_Version, r.current).dose_unit,
                _usual_min(r.drug_key),
            )
            for r in mine
        ]
        taken: int | None = None
        scheduled: int | None = None
        if mine and logs.get(pid):
            taken, scheduled = _dose_counts(pi, mine, logs[pid], now, rules)
        pdc: list[ClassPdc] = []
        if mine:
            start, end = pdc_period(today[pid], PDC_PERIOD_DAYS)
            results = adherence.pdc_by_class(fills.get(pid, []), start, end)
            labels = catalog.classes()
            for cls in sorted({r.drug_class for r in mine}):
                res = results.get(cls)
                label = labels.get(cls, cls)
                if res is None:
                    pdc.append(ClassPdc(label, False, None, False, "no fill in the last 180 days"))
                else:
                    pdc.append(ClassPdc(label, res.eligible, res.pdc, res.adherent, res.reason))
        att = attendance(sessions.get(pid, []))
        pi.facts = Facts(
            medications=meds,
            doses_taken=taken,
            doses_scheduled=scheduled,
            pdc=pdc,
            in_therapy=pid in sessions,
            attended=att.attended,
            countable=att.countable,
        )
    return out


def _dose_counts(
    pi: PatientInputs,
    regimens: list[_Regimen],
    records: list[adherence.DoseRecord],
    now: datetime,
    rules: AdequacyRules,
) -> tuple[int, int]:
    """Doses taken and scheduled over the last `dose_window_days` local days, resolved as the
    medications app resolves them (48-hour late-logging window)."""
    tz = ZoneInfo(pi.time_zone)
    spans = [
        VersionSpan(
            regimen_id=r.pk,
            version_id=v.pk,
            effective_at=v.effective_at,
            active=v.status == RegimenStatus.ACTIVE,
            scheduled=v.schedule_kind == ScheduleKind.SCHEDULED,
            times=parse_times(v.times),
            every_days=v.every_days,
            anchor=local_date(r.started_at, tz),
        )
        for r in regimens
        for v in r.versions
    ]
    last_day = local_date(now, tz)
    due = due_doses(spans, tz, last_day - timedelta(days=rules.dose_window_days - 1), last_day)
    result = adherence.dose_adherence(
        due, records, tz=tz, now=now, rules=adherence.DoseRules(window_days=rules.dose_window_days)
    )
    counts = result.last_days
    return counts.taken + counts.taken_late, counts.scheduled
