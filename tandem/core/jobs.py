"""Periodic due work that `tandem worker` runs beside the task queue.

Each app registers its jobs (usually in its AppConfig.ready, as with tandem.lib.worklist): a name,
how often to look, and a function of `now`. A job finds its due work in the database and claims
it one row at a time (STYLE rule 7), so it must be safe

- to run in several workers at once (a row is claimed with a conditional UPDATE, never "the
  worker remembers what it did"), and
- to run again after a crash or a kill (whatever it writes is idempotent).

The interval only decides how often a worker looks; it is kept on the monotonic clock of the
process, never on the server's wall clock, and what is due is decided by the rows' own `due_at`.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

logger = logging.getLogger(__name__)

JobFunction = Callable[[datetime], Any]


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    run: JobFunction


_jobs: dict[str, Job] = {}


def register(name: str, every_seconds: float, function: JobFunction) -> Job:
    """Add a job, once per name (registering the same name again replaces it)."""
    if every_seconds <= 0:
        raise ValueError(f"job {name!r}: every_seconds must be positive")
    job = Job(name, every_seconds, function)
    _jobs[name] = job
    return job


def registered(names: Iterable[str] | None = None) -> list[Job]:
    """The registered jobs in registration order (only `names` when given; KeyError names an unknown one)."""
    if names is None:
        return list(_jobs.values())
    return [_jobs[name] for name in names]


# Set by the worker's SIGTERM/SIGINT handler. A long job checks it between rows or batches and
# returns early: everything it did so far is committed, and the next worker takes up the rest.
_stop_requested = False


def request_stop() -> None:
    global _stop_requested
    _stop_requested = True


def stop_requested() -> bool:
    return _stop_requested


def reset_stop() -> None:
    global _stop_requested
    _stop_requested = False


def worker_id() -> str:
    """Who holds a claim, as operators read it: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


@dataclass
class JobRun:
    job: Job
    ok: bool
    result: Any = None
    seconds: float = 0.0


def run_job(job: Job, now: datetime | None = None) -> JobRun:
    """Run one job; an exception is logged and reported, never raised, so that one failing job
    does not stop the others (its claimed rows become claimable again after their time-out)."""
    started = time.monotonic()
    try:
        result = job.run(now or timezone.now())
    except Exception:
        logger.exception("due job %s failed", job.name)
        return JobRun(job, ok=False, seconds=time.monotonic() - started)
    return JobRun(job, ok=True, result=result, seconds=time.monotonic() - started)


@dataclass
class Scheduler:
    """Which jobs are due, on the monotonic clock. Every job is due at once on start."""

    jobs: list[Job]
    clock: Callable[[], float] = time.monotonic
    _next: dict[str, float] = field(default_factory=dict)

    def due(self) -> list[Job]:
        now = self.clock()
        return [job for job in self.jobs if self._next.get(job.name, 0.0) <= now]

    def run_due(self) -> list[JobRun]:
        runs = []
        for job in self.due():
            if stop_requested():
                break
            runs.append(run_job(job))
            # Counted from the end of the run: a slow job never piles up behind itself.
            self._next[job.name] = self.clock() + job.every_seconds
        return runs

    def seconds_until_next(self) -> float:
        if not self.jobs:
            return 3600.0
        now = self.clock()
        return max(0.0, min(self._next.get(job.name, 0.0) for job in self.jobs) - now)
