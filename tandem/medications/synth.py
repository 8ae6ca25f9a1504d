"""Synthetic medications for `tandem synth`: one antidepressant regimen per patient (started on
enrolment, titrated for a third of them), ten monthly fills each (1 000 000 for 100 000
patients, the PDC benchmark's input; some with gaps), and 30 days of dose logs for the benchmark
care manager's caseload."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from tandem.core.seeding import SynthContext, insert_rows
from tandem.medications.models import (
    DoseLog,
    DoseStatus,
    Fill,
    FillSource,
    Regimen,
    RegimenStatus,
    RegimenVersion,
)
from tandem.patients.models import Patient

DRUGS = [
    ("sertraline", "ssri", 50),
    ("escitalopram", "ssri", 10),
    ("fluoxetine", "ssri", 20),
    ("venlafaxine", "snri", 75),
    ("bupropion", "ndri", 150),
    ("mirtazapine", "nassa", 15),
]
FILLS_PER_PATIENT = 10
FILL_FIELDS = (
    "patient",
    "regimen",
    "drug_key",
    "drug_name",
    "drug_class",
    "fill_date",
    "days_supply",
    "source",
    "external_id",
    "created_at",
)
LOGGED_PATIENTS = 120  # the benchmark care manager's caseload: the run's first patients


def generate(ctx: SynthContext) -> None:
    first, last = ctx.patient_id_range
    if last < first:
        return
    rng = ctx.rng
    tz = timezone.get_current_timezone()
    started = datetime.combine(ctx.anchor - timedelta(days=300), time(9, 0), tzinfo=tz)
    ctx.progress.set_description("medications")
    ctx.progress.reset(total=last - first + 1)
    for start in range(first, last + 1, ctx.batch):
        ids = list(range(start, min(last, start + ctx.batch - 1) + 1))
        picks = [rng.choice(DRUGS) for _ in ids]
        regimens = Regimen.objects.bulk_create(
            [
                Regimen(
                    patient_id=pid,
                    drug_key=key,
                    drug_name=key,
                    drug_classes=[cls],
                    status=RegimenStatus.ACTIVE,
                    started_at=started,
                    version_count=1,
                    created_at=started,
                )
                for pid, (key, cls, _mg) in zip(ids, picks, strict=True)
            ]
        )
        versions = RegimenVersion.objects.bulk_create(
            [
                RegimenVersion(
                    regimen=r,
                    number=1,
                    kind="start",
                    effective_at=started,
                    status=RegimenStatus.ACTIVE,
                    dose_amount=Decimal(mg),
                    times=["08:00"],
                    reason="Start",
                    created_at=started,
                )
                for r, (_key, _cls, mg) in zip(regimens, picks, strict=True)
            ]
        )
        for regimen, version in zip(regimens, versions, strict=True):
            regimen.current = version
        Regimen.objects.bulk_update(regimens, ["current"])
        fills: list[list[object]] = []
        for regimen, (key, cls, _mg) in zip(regimens, picks, strict=True):
            day = started.date()
            for _ in range(FILLS_PER_PATIENT):
                fills.append(
                    [regimen.patient_id, regimen.pk, key, key, cls, day, 30, FillSource.IMPORT, "", started]
                )
                day += timedelta(days=30 + (rng.choice([0, 0, 0, 2, 5, 12]) if rng.random() < 0.4 else 0))
        insert_rows(Fill, FILL_FIELDS, fills, batch=ctx.batch)
        if start == first:
            _dose_logs(ctx, regimens[:LOGGED_PATIENTS])
        ctx.created["regimens"] = ctx.created.get("regimens", 0) + len(regimens)
        ctx.created["fills"] = ctx.created.get("fills", 0) + len(fills)
        ctx.progress.update(len(ids))


def _dose_logs(ctx: SynthContext, regimens: list[Regimen]) -> None:
    """30 days of 08:00 doses before the anchor, in each patient's own time zone."""
    from zoneinfo import ZoneInfo

    from tandem.lib.timezones import at_local

    zones = dict(
        Patient.objects.filter(pk__in=[r.patient_id for r in regimens]).values_list("pk", "time_zone")
    )
    logs = []
    for regimen in regimens:
        tz = ZoneInfo(zones[regimen.patient_id])
        for offset in range(30, 0, -1):
            due = at_local(ctx.anchor - timedelta(days=offset), time(8, 0), tz)
            roll = ctx.rng.random()
            if roll < 0.8:
                logs.append(
                    DoseLog(
                        patient_id=regimen.patient_id,
                        regimen=regimen,
                        due_at=due,
                        status=DoseStatus.TAKEN,
                        taken_at=due + timedelta(minutes=10),
                        logged_at=due + timedelta(minutes=10),
                        idempotency_key=f"synth-{regimen.pk}-{offset}",
                    )
                )
            elif roll < 0.9:
                logs.append(
                    DoseLog(
                        patient_id=regimen.patient_id,
                        regimen=regimen,
                        due_at=due,
                        status=DoseStatus.SKIPPED,
                        reason="Felt unwell",
                        logged_at=due + timedelta(hours=2),
                        idempotency_key=f"synth-{regimen.pk}-{offset}",
                    )
                )
    DoseLog.objects.bulk_create(logs)
    ctx.created["dose logs"] = len(logs)
