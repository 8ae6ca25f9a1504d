"""FHIR Bulk Data Access (v2) over HTTP: kick-off (`$export` at the system, Patient and Group
levels), the status URL (poll, DELETE to cancel) and the NDJSON files.

A kick-off needs `Prefer: respond-async`, takes `_type`, `_since` and `_outputFormat` (anything
else is refused, as the other searches are strict), checks the token's read scopes for each
type asked for, and answers 202 with the status URL in Content-Location; the worker writes the
files (tandem.fhir.bulk_export). The status URL answers its owner only (another user's job is
the 404 of a missing one); the files are served to the token that asked, and only while the
export has not expired.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tandem.accounts.access import primary_role
from tandem.audit.access import record_denied
from tandem.audit.actions import client_ip, record_audit
from tandem.audit.models import Action
from tandem.fhir.auth import Caller, authenticate, permits
from tandem.fhir.bulk_export import exportable_types
from tandem.fhir.bulk_jobs import run_export_task
from tandem.fhir.errors import FhirError, bad_request, not_found
from tandem.fhir.models import ExportJob, ExportLevel, ExportStatus
from tandem.fhir.resources.group import member_ids

NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = {NDJSON, "application/ndjson", "ndjson"}
ACCEPTS = ("application/fhir+json", "application/json", "*/*")
PARAMETERS = {"_type", "_since", "_outputFormat"}
MAX_ACTIVE = 5  # exports queued or running per user at once
RETRY_AFTER = "5"


def kick_off(request: HttpRequest, level: str, group_id: str = "") -> HttpResponse:
    caller = authenticate(request)
    if "respond-async" not in request.headers.get("Prefer", ""):
        raise bad_request("A Bulk Data export needs the header Prefer: respond-async.", expression="Prefer")
    accept = request.headers.get("Accept", "")
    if accept and not any(kind in accept for kind in ACCEPTS):
        raise bad_request(
            "Accept must be application/fhir+json for a Bulk Data kick-off.", expression="Accept"
        )
    unknown = sorted({key for key in request.GET if key not in PARAMETERS})
    if unknown:
        raise bad_request(f"Unknown or unsupported export parameter(s): {', '.join(unknown)}.", unknown[0])
    fmt = request.GET.get("_outputFormat", NDJSON)
    if fmt not in OUTPUT_FORMATS:
        raise bad_request(
            f"_outputFormat {fmt[:60]!r} is not supported; use {NDJSON} (or application/ndjson, ndjson).",
            expression="_outputFormat",
        )
    since = _since(request.GET.get("_since"))
    types = _types(request, caller, [v for value in request.GET.getlist("_type") for v in value.split(",")])
    if level == ExportLevel.GROUP and member_ids(caller, group_id) is None:
        record_denied(request, "Group", group_id[:64])
        raise not_found()
    active = ExportJob.objects.filter(
        user=caller.user, status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING]
    ).count()
    if active >= MAX_ACTIVE:
        raise FhirError(
            429,
            "throttled",
            f"{active} exports of yours are still running; wait for one or cancel it.",
            headers={"Retry-After": "60"},
        )
    with transaction.atomic():
        job = ExportJob.objects.create(
            user=caller.user,
            token=caller.token,
            level=level,
            group_id=group_id,
            types=types,
            since=since,
            request_url=request.build_absolute_uri()[:2000],
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        )
        record_audit(
            actor=caller.user,
            action=Action.EXPORT,
            entity_type="$export",
            entity_id=job.pk,
            role=primary_role(caller.user),
            request=request,
            extra={"via": "fhir", "level": level, "group": group_id, "types": types, "requested": True},
        )
        transaction.on_commit(lambda: run_export_task.enqueue(str(job.pk)))
    response = HttpResponse(status=202)
    response["Content-Location"] = status_url(request, job)
    return response


def status_url(request: HttpRequest, job: ExportJob) -> str:
    return request.build_absolute_uri(reverse("fhir:export_status", kwargs={"job_id": job.pk}))


def _since(raw: str | None) -> Any:
    if raw is None:
        return None
    moment = parse_datetime(raw.strip()) if raw.strip() else None
    if moment is None or moment.tzinfo is None:
        raise bad_request(
            "_since must be a FHIR instant with a time zone, e.g. 2024-01-01T00:00:00Z.", expression="_since"
        )
    return moment


def _types(request: HttpRequest, caller: Caller, asked: list[str]) -> list[str]:
    """The types to export, in order: those asked for (each known and permitted), or every
    exportable type the token may read."""
    offered = exportable_types()
    asked = [name.strip() for name in asked if name.strip()]
    if asked:
        unknown = [name for name in asked if name not in offered]
        if unknown:
            shown = ", ".join(name[:40] for name in unknown[:5])
            raise bad_request(
                f"_type names types this server does not export: {shown}. Exported: {', '.join(offered)}.",
                expression="_type",
            )
        refused = [name for name in asked if permits(caller, name, "read") is None]
        if refused:
            record_denied(request, refused[0], "scope:export")
            raise FhirError(
                403,
                "forbidden",
                f"This token's scopes do not allow reading {', '.join(refused)} (e.g. user/{refused[0]}.read).",
            )
        return [name for name in offered if name in asked]
    allowed = [name for name in offered if permits(caller, name, "read") is not None]
    if not allowed:
        record_denied(request, "$export", "scope:export")
        raise FhirError(403, "forbidden", "This token's scopes allow reading none of the exported types.")
    return allowed


def _own_job(request: HttpRequest, caller: Caller, job_id: Any) -> ExportJob:
    job = ExportJob.objects.filter(pk=job_id, user=caller.user).exclude(status=ExportStatus.CANCELLED).first()
    if job is None or (job.expires_at is not None and job.expires_at < timezone.now()):
        record_denied(request, "$export", str(job_id))
        raise not_found()
    return job


def status(request: HttpRequest, job_id: Any) -> HttpResponse:
    caller = authenticate(request)
    job = _own_job(request, caller, job_id)
    if request.method == "DELETE":
        return cancel(job)
    if job.status in (ExportStatus.QUEUED, ExportStatus.RUNNING):
        response = HttpResponse(status=202)
        response["X-Progress"] = job.progress or job.status
        response["Retry-After"] = RETRY_AFTER
        return response
    if job.status == ExportStatus.FAILED:
        raise FhirError(500, "exception", job.error or "The export failed.")
    # The manifest is plain JSON, not a FHIR resource.
    return HttpResponse(json.dumps(manifest(request, job)), content_type="application/json")


def manifest(request: HttpRequest, job: ExportJob) -> dict[str, Any]:
    assert job.transaction_time is not None
    return {
        "transactionTime": job.transaction_time.isoformat(),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [
            {
                "type": item["type"],
                "url": request.build_absolute_uri(
                    reverse("fhir:export_file", kwargs={"job_id": job.pk, "file_name": item["file"]})
                ),
                "count": item["count"],
            }
            for item in job.output
        ],
        "error": [],
    }


def cancel(job: ExportJob) -> HttpResponse:
    """Cancelled: the worker stops at its next page, and the files go at once."""
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.CANCELLED, progress="")
    shutil.rmtree(job.directory, ignore_errors=True)
    return HttpResponse(status=202)


def file(request: HttpRequest, job_id: Any, file_name: str) -> FileResponse:
    caller = authenticate(request)
    job = ExportJob.objects.filter(pk=job_id, token=caller.token, status=ExportStatus.COMPLETED).first()
    listed = {item["file"] for item in job.output} if job is not None else set()
    if (
        job is None
        or file_name not in listed
        or (job.expires_at is not None and job.expires_at < timezone.now())
        or not (job.directory / file_name).is_file()
    ):
        record_denied(request, "$export", f"{job_id}/{file_name[:40]}")
        raise not_found()
    record_audit(
        actor=caller.user,
        action=Action.EXPORT,
        entity_type="$export",
        entity_id=job.pk,
        role=primary_role(caller.user),
        request=request,
        extra={"via": "fhir", "file": file_name, "downloaded": True},
    )
    return FileResponse((job.directory / file_name).open("rb"), content_type=NDJSON)
