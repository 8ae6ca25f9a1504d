"""Running a Bulk Data export in the worker: each resource type written to one NDJSON file under
the job's folder, with bounded memory.

Rows come from each registered type's `queryset(caller)` — the same access policy as a search
— in keyset pages of CHUNK rows, and are written with the type's `to_fhir(row)`; a type built
in memory (MemoryType: goals, problems) is asked for a page of patients at a time. Each patient
touched is audited once per export (action `export`), the rows appended to the hash chain in
batches, in the transaction that marks the job completed: files nobody may fetch yet are not
yet a disclosure, and a job that fails or is cancelled discloses nothing.

Between pages the run moves its heartbeat on and stops if the job was cancelled (its files are
then removed). A run whose heartbeat stopped (a killed worker) is taken up again from the start.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from tandem.accounts.models import ApiToken
from tandem.audit.actions import record_audit_many
from tandem.audit.models import Action
from tandem.fhir.auth import Caller, own_patient, permits
from tandem.fhir.models import KEEP_FOR, ExportJob, ExportLevel, ExportStatus
from tandem.fhir.policy import bases, visible_patients
from tandem.fhir.registry import REGISTRY, MemoryType, ResourceType
from tandem.fhir.resources.group import member_ids
from tandem.fhir.search import Query, ReferenceParam

logger = logging.getLogger(__name__)

CHUNK = 1000  # rows per keyset page
PATIENT_PAGE = 200  # patients per page of a type built in memory
AUDIT_BATCH = 2000
STALE_AFTER = timedelta(minutes=15)  # a running job whose heartbeat is older is taken up again
# Not patient data, but what the exported resources refer to; the Bulk Data IG expects them.
REFERENCED_TYPES = ("Practitioner", "Organization")
# Patient data that is not in the patient compartment: a Group is what an export is asked about.
NOT_EXPORTED = frozenset({"Group"})


def exportable_types() -> list[str]:
    """Every registered type with patient data, then the types they refer to."""
    patient_data = sorted(
        name for name, rtype in REGISTRY.items() if rtype.need is not None and name not in NOT_EXPORTED
    )
    return patient_data + [name for name in REFERENCED_TYPES if name in REGISTRY]


class Cancelled(Exception):
    pass


@dataclass
class Run:
    job: ExportJob
    caller: Caller
    members: set[int] | None  # the Group's patients, for a Group export
    touched: set[int] = field(default_factory=set)
    written: int = 0

    def beat(self, progress: str) -> None:
        """Move the heartbeat on; Cancelled when the job was cancelled meanwhile."""
        moved = ExportJob.objects.filter(pk=self.job.pk, status=ExportStatus.RUNNING).update(
            heartbeat_at=timezone.now(), progress=progress[:200]
        )
        if not moved:
            raise Cancelled


def claim(job_id: Any, now: datetime | None = None) -> ExportJob | None:
    """Take a queued job (or one whose run stopped beating) for this worker, or None."""
    now = now or timezone.now()
    taken = (
        ExportJob.objects.filter(pk=job_id)
        .filter(
            Q(status=ExportStatus.QUEUED) | Q(status=ExportStatus.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
        )
        .update(status=ExportStatus.RUNNING, heartbeat_at=now, transaction_time=now, progress="starting")
    )
    return ExportJob.objects.select_related("token__user").get(pk=job_id) if taken else None


def run_export(job_id: Any) -> str:
    """Claim and run one export; its final status (or "not claimed")."""
    job = claim(job_id)
    if job is None:
        return "not claimed"
    try:
        return _run(job)
    except Cancelled:
        shutil.rmtree(job.directory, ignore_errors=True)
        return ExportStatus.CANCELLED
    except Exception as exc:
        logger.exception("export %s failed", job.pk)
        shutil.rmtree(job.directory, ignore_errors=True)
        _fail(job, f"The export failed ({type(exc).__name__}); ask again later.")
        return ExportStatus.FAILED


def _fail(job: ExportJob, reason: str) -> None:
    now = timezone.now()
    ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING).update(
        status=ExportStatus.FAILED, error=reason, finished_at=now, expires_at=now + KEEP_FOR, progress=""
    )


def caller_of(token: ApiToken) -> Caller | None:
    """The caller the token stands for now, or None once it is revoked or expired."""
    if not token.is_usable():
        return None
    return Caller(user=token.user, token=token, own_patient=own_patient(token.user))


def _run(job: ExportJob) -> str:
    caller = caller_of(job.token)
    if caller is None:
        _fail(job, "The token that asked for this export was revoked or has expired.")
        return ExportStatus.FAILED
    members: set[int] | None = None
    if job.level == ExportLevel.GROUP:
        found = member_ids(caller, job.group_id)
        if found is None:
            _fail(job, f"Group/{job.group_id} is no longer visible to this token.")
            return ExportStatus.FAILED
        members = set(found)
    run = Run(job, caller, members)
    shutil.rmtree(job.directory, ignore_errors=True)  # a run taken up again starts afresh
    job.directory.mkdir(parents=True, exist_ok=True)
    output = []
    for n, name in enumerate(job.types, start=1):
        rtype = REGISTRY.get(name)
        reader = permits(caller, name, "read") if rtype is not None else None
        if rtype is None or reader is None:
            continue
        path = job.directory / f"{name}.ndjson"
        count = 0
        run.beat(f"{name} ({n} of {len(job.types)} types), {run.written} resources written")
        with path.open("w", encoding="utf-8") as out:
            for rows in _pages(run, rtype, reader):
                count += _write(out, rtype, rows, run)
                run.beat(f"{name} ({n} of {len(job.types)} types), {run.written} resources written")
        if count:
            output.append({"type": name, "file": path.name, "count": count})
        else:
            path.unlink()
    _complete(run, output)
    return ExportStatus.COMPLETED


def _write(out: IO[str], rtype: ResourceType, rows: list[Any], run: Run) -> int:
    lines = []
    for row in rows:
        lines.append(json.dumps(rtype.to_fhir(row), ensure_ascii=False, separators=(",", ":")))
        if rtype.need is not None:
            pid = rtype.patient_of(row)
            if pid is not None:
                run.touched.add(pid)
    if lines:
        out.write("\n".join(lines))
        out.write("\n")
    run.written += len(lines)
    return len(lines)


def _patient_field(rtype: ResourceType) -> str | None:
    """The ORM field holding a row's patient id, when the type says (its `patient` parameter)."""
    if rtype.name == "Patient":
        return "pk"
    param = rtype.all_params().get("patient")
    return param.field_name if isinstance(param, ReferenceParam) and param.field_name else None


def _tables(rtype: ResourceType, reader: Caller) -> list[tuple[QuerySet[Any], str, str | None]]:
    """The querysets behind a type, each with its lastUpdated field and its patient field: the
    type's own queryset, or one per source of a type served from several tables."""
    sources = getattr(rtype, "sources", None)
    if sources:
        return [
            (s.load(s.base(reader)), s.fields.get("_lastUpdated", ""), s.fields.get("patient"))
            for s in sources
        ]
    return [(rtype.queryset(reader), rtype.last_updated, _patient_field(rtype))]


def _pages(run: Run, rtype: ResourceType, reader: Caller) -> Iterator[list[Any]]:
    if isinstance(rtype, MemoryType):
        yield from _memory_pages(run, rtype, reader)
        return
    for rows, last_updated, column in _tables(rtype, reader):
        if run.job.since is not None and last_updated:
            rows = rows.filter(**{f"{last_updated}__gte": run.job.since})
        keep: Callable[[Any], bool] = lambda row: True  # noqa: E731
        if run.members is not None and rtype.need is not None:
            members = run.members
            if column is not None and len(members) <= 5000:
                rows = rows.filter(**{f"{column}__in": members})
            keep = lambda row, members=members: rtype.patient_of(row) in members  # type: ignore[misc]  # noqa: E731
        yield from _keyset(rows, keep)


def _keyset(rows: QuerySet[Any], keep: Callable[[Any], bool]) -> Iterator[list[Any]]:
    last: Any = None
    while True:
        page = rows.filter(pk__gt=last) if last is not None else rows
        found = list(page.order_by("pk")[:CHUNK])
        if not found:
            return
        last = found[-1].pk
        yield [row for row in found if keep(row)]
        if len(found) < CHUNK:
            return


def _memory_pages(run: Run, rtype: MemoryType, reader: Caller) -> Iterator[list[Any]]:
    """A type built in memory from each patient's records, a page of patients at a time."""
    param = rtype.all_params().get("patient")
    if param is None or rtype.need is None:
        return
    patients = visible_patients(reader, rtype.need).order_by("pk").values_list("pk", flat=True)
    last = 0
    while True:
        ids = list(patients.filter(pk__gt=last)[:PATIENT_PAGE])
        if not ids:
            return
        last = ids[-1]
        if run.members is not None:
            ids = [pid for pid in ids if pid in run.members]
        if ids:
            query = Query(filters=[(param, [str(pid) for pid in ids])], count=10**9, total=False)
            yield rtype.search(reader, query).rows


def _complete(run: Run, output: list[dict[str, Any]]) -> None:
    job = run.job
    now = timezone.now()
    with transaction.atomic():
        _audit_export(run)
        done = ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING).update(
            status=ExportStatus.COMPLETED,
            output=output,
            progress="",
            finished_at=now,
            expires_at=now + KEEP_FOR,
            heartbeat_at=now,
        )
        if not done:
            transaction.set_rollback(True)
    if not done:
        raise Cancelled


def _audit_export(run: Run) -> None:
    """One `export` row per patient touched, appended to the chain in batches."""
    job = run.job
    patients = sorted(run.touched)
    for start in range(0, len(patients), AUDIT_BATCH):
        batch = patients[start : start + AUDIT_BATCH]
        found = bases(run.caller, set(batch))
        record_audit_many(
            [
                {
                    "actor": run.caller.user,
                    "action": Action.EXPORT,
                    "entity_type": "$export",
                    "entity_id": job.pk,
                    "patient": pid,
                    "role": found[pid].role,
                    "organisation": found[pid].organisation_id,
                    "extra": {
                        "basis": found[pid].basis,
                        "via": "fhir",
                        "level": job.level,
                        "types": job.types,
                    },
                }
                for pid in batch
            ],
            ip=job.ip,
            user_agent=job.user_agent,
        )


def clean_up(now: datetime) -> dict[str, int]:
    """Remove expired and cancelled exports with their files; hand stalled ones to the queue
    again. Safe in several workers at once: deleting twice deletes nothing."""
    from tandem.fhir.bulk_jobs import run_export_task

    gone = 0
    expired = ExportJob.objects.filter(
        Q(expires_at__lt=now)
        | Q(status=ExportStatus.CANCELLED)
        | Q(status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING], created_at__lt=now - 4 * KEEP_FOR)
    ).only("pk")
    for job in expired.iterator():
        shutil.rmtree(job.directory, ignore_errors=True)
        gone += ExportJob.objects.filter(pk=job.pk).delete()[0]
    stalled = ExportJob.objects.filter(
        Q(status=ExportStatus.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
        | Q(status=ExportStatus.QUEUED, created_at__lt=now - STALE_AFTER)
    ).values_list("pk", flat=True)
    requeued = 0
    for pk in stalled:
        run_export_task.enqueue(str(pk))
        requeued += 1
    return {"removed": gone, "requeued": requeued}
