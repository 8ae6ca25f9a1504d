"""Due rows claimed one at a time, so that two workers never handle the same row (STYLE rule 7).

Two kinds of claim, both a single conditional UPDATE whose row count says who won: SQLite runs
one writer at a time, and PostgreSQL makes a second UPDATE of the same row wait for the first and
re-check its WHERE, so of two workers exactly one changes the row and the other sees 0.

- `Claims`: a lease on rows that are due at `due_at` and still open (e.g. status = 'pending').
  A worker takes the oldest due row by setting `claimed_by` / `claimed_at`, compare-and-set on
  the `claimed_at` it read (NULL, or a lease older than `lease`: the worker holding it died). At
  send time, under locks, it checks that it still holds the claim, and every later change of the
  row's state (`mark`, `release`) is an UPDATE … WHERE <still open>, made in the same transaction
  as the notification: a transaction whose UPDATE changes no row notifies nobody. A send that
  fails keeps its claim, so the row is retried by any worker once the lease has run out (and
  given up by its owner's rules once it is no longer due). The model needs the columns `due_at`,
  `claimed_by` and `claimed_at`.
- `claim_period`: a row marked done for a period (a day): UPDATE … SET field = period WHERE
  field IS NULL OR field < period. Nothing to lease: the mark is made in the transaction that
  does the work, so a crash undoes both.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Generic, Protocol, TypeGuard, TypeVar

from django.db import connection, models
from django.db.models import Q, QuerySet

from tandem.core import jobs

# The outcomes of a send shared by every user of `Claims.deliver`.
SENT, CANCELLED, LOST = "sent", "cancelled", "lost"
# A claimer that loses this many races in a row stops; the next round finds the rest.
ATTEMPTS = 10
CLAIMED_BY_WIDTH = 64  # the column's max_length in every model that is claimed
# The values that give a row back: claimable at once by any worker.
UNCLAIMED: Mapping[str, Any] = MappingProxyType({"claimed_by": "", "claimed_at": None})

M = TypeVar("M", bound=models.Model)


class Tally(Protocol):
    """What `Claims.deliver` counts into: a counter named after each outcome, and `failed`."""

    failed: int

    @property
    def claimed(self) -> int: ...


def lock_own_rows() -> dict[str, Any]:
    """Arguments of select_for_update() locking only the queried model's rows: PostgreSQL cannot
    lock the nullable side of an outer join (e.g. a patient's portal user); SQLite ignores FOR
    UPDATE (its IMMEDIATE transactions already run one writer at a time)."""
    return {"of": ("self",)} if connection.features.has_select_for_update_of else {}


class Claimable(Protocol):
    @property
    def claimed_by(self) -> str: ...

    @property
    def claimed_at(self) -> datetime | None: ...


C = TypeVar("C", bound=Claimable)


def holds(current: C | None, claimed: Claimable) -> TypeGuard[C]:
    """Whether `current` (the row as read again, under lock) still carries the claim that made
    `claimed`; False when the row is gone, no longer open, or taken over after the lease ran out."""
    return current is not None and (current.claimed_by, current.claimed_at) == (
        claimed.claimed_by,
        claimed.claimed_at,
    )


@dataclass(frozen=True)
class Claims(Generic[M]):
    """The due rows of `model`: open while `pending` holds, due from `now - window` to `now`,
    claimable when unclaimed or when their claim is older than `lease`."""

    model: type[M]
    pending: Q
    lease: timedelta
    window: timedelta
    attempts: int = ATTEMPTS

    def _rows(self) -> QuerySet[M]:
        return self.model._default_manager.all()

    def due(self, now: datetime) -> QuerySet[M]:
        """The claimable rows at `now`, oldest due first."""
        stale = now - self.lease
        return (
            self._rows()
            .filter(self.pending, due_at__lte=now, due_at__gte=now - self.window)
            .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale))
            .order_by("due_at", "pk")
        )

    def claim_next(self, worker_id: str, now: datetime) -> M | None:
        """Claim the oldest due row for `worker_id`, or None when nothing is due (or every row
        read was taken by another worker first, `attempts` times: the next round finds the rest).
        Call it outside a transaction, so that the claim is visible to the other workers at once."""
        due = self.due(now)
        for _ in range(self.attempts):
            row = due.values_list("pk", "claimed_at").first()
            if row is None:
                return None
            if self.take(row[0], row[1], worker_id, now):
                return self._rows().get(pk=row[0])
        return None

    def take(self, pk: Any, seen_claimed_at: datetime | None, worker_id: str, now: datetime) -> bool:
        """The conditional UPDATE of a claim: True when this worker got the row. It changes the
        row only if it is still open and its `claimed_at` is the one the worker read."""
        rows = self._rows().filter(self.pending, pk=pk)
        rows = (
            rows.filter(claimed_at__isnull=True)
            if seen_claimed_at is None
            else rows.filter(claimed_at=seen_claimed_at)
        )
        return rows.update(claimed_by=worker_id[:CLAIMED_BY_WIDTH], claimed_at=now) == 1

    def mark(self, pks: Iterable[Any], **values: Any) -> int:
        """Change the rows of `pks` that are still open (e.g. to sent or cancelled); the number
        changed. 0 means someone else changed them first: whoever did is the one who acts."""
        return self._rows().filter(self.pending, pk__in=list(pks)).update(**values)

    def release(self, pks: Iterable[Any], **values: Any) -> int:
        """`mark` that also gives up the claim (e.g. a row moved to a later `due_at`)."""
        return self.mark(pks, **values, **UNCLAIMED)

    def deliver(
        self,
        worker_id: str,
        now: datetime,
        send: Callable[[M], str],
        result: Tally,
        *,
        limit: int,
        log: logging.Logger,
        what: str,
    ) -> None:
        """Claim and `send` due rows one at a time until none is due, `limit` were claimed or the
        worker is asked to stop, counting each outcome in `result` (the counter of that name). A
        send that raises is logged and counted as failed; its claim stays (see the module doc)."""
        while result.claimed < limit and not jobs.stop_requested():
            row = self.claim_next(worker_id, now)
            if row is None:
                break
            try:
                outcome = send(row)
            except Exception:
                log.exception("%s %s could not be sent", what, row.pk)
                result.failed += 1
                continue
            setattr(result, outcome, getattr(result, outcome) + 1)


def claim_period(rows: QuerySet[Any], field: str, period: Any, **values: Any) -> bool:
    """Mark the one row of `rows` done for `period` (setting `values` too): UPDATE … SET
    field = period WHERE <rows> AND (field IS NULL OR field < period). True when this caller
    made the change; False when the row was already done for `period` or a later one, or does
    not match `rows`. Call it inside the transaction that does the period's work."""
    not_done = Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": period})
    return rows.filter(not_done).update(**{field: period}, **values) == 1
