"""The medications app's periodic due work for `tandem worker` (tandem.core.jobs).

`register_jobs()` is called from MedicationsConfig.ready(), beside reminders.register_jobs().
"""

from __future__ import annotations

from datetime import datetime

from tandem.core import jobs
from tandem.medications import signals

# Hourly: a dose passes its 48-hour late-logging window at any hour; PDC changes once a day, and
# an open or recently resolved condition costs nothing to look at again.
ADHERENCE_SIGNALS_EVERY = 3600


def adherence_signals_job(now: datetime) -> signals.SignalRun:
    return signals.evaluate_all(now)


def register_jobs() -> None:
    jobs.register("medications.adherence_signals", ADHERENCE_SIGNALS_EVERY, adherence_signals_job)
