"""The lab-monitoring jobs for `tandem worker` (tandem.core.jobs).

Call `register_jobs()` from MedicationsConfig.ready(). Both jobs find their work in the database
and are idempotent, so several workers may run them at once and a killed run is simply redone.
"""

from __future__ import annotations

from datetime import datetime

from tandem.core import jobs
from tandem.medications.monitoring import OverdueResult, PlanResult, evaluate_overdue, extend_monitoring

OVERDUE_EVERY_SECONDS = 3600  # due dates are days: hourly is prompt enough
EXTEND_EVERY_SECONDS = 6 * 3600  # rows are planned about a year ahead


def overdue_job(now: datetime) -> OverdueResult:
    return evaluate_overdue(now)


def extend_job(now: datetime) -> PlanResult:
    return extend_monitoring(now)


def register_jobs() -> None:
    jobs.register("medications.labs_overdue", OVERDUE_EVERY_SECONDS, overdue_job)
    jobs.register("medications.labs_extend", EXTEND_EVERY_SECONDS, extend_job)
