"""The worker's side of Bulk Data exports: the task that runs one, and the periodic job that
removes expired exports and hands stalled ones back to the queue."""

from __future__ import annotations

from datetime import datetime

from django_tasks import task

from tandem.core import jobs

CLEAN_UP_EVERY = 300  # seconds


@task()
def run_export_task(job_id: str) -> str:
    from tandem.fhir.bulk_export import run_export

    return run_export(job_id)


def clean_up_job(now: datetime) -> dict[str, int]:
    from tandem.fhir.bulk_export import clean_up

    return clean_up(now)


def register_jobs() -> None:
    jobs.register("fhir.bulk_exports", CLEAN_UP_EVERY, clean_up_job)
