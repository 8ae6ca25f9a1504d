"""Deferring the treat-to-target recompute of a batch of writes: inside `deferred_recompute()`,
each scored PHQ-9 or GAD-7 stored only notes its patient (job.recompute_after_commit), and the
patients noted are evaluated together, once each, in one `evaluate(ids, now)` when the block
ends — after the enclosing transaction commits, when there is one.

    with deferred_recompute():
        ...store a chunk of responses...

Blocks nest: an inner block's patients are evaluated by the outermost one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)
_local = threading.local()


def _pending() -> set[int] | None:
    return getattr(_local, "pending", None)


def defer(patient_id: int) -> bool:
    """Note the patient for the enclosing block; False when no block is open (recompute now)."""
    pending = _pending()
    if pending is None:
        return False
    pending.add(patient_id)
    return True


def evaluate_noted(patient_ids: set[int]) -> None:
    from tandem.measures.signals.job import evaluate

    if not patient_ids:
        return
    try:
        with transaction.atomic():  # the upsert and the alerts raised: one commit
            evaluate(sorted(patient_ids), timezone.now())
    except Exception:  # the responses are stored; the periodic job will catch up
        logger.exception("treat-to-target signals for %s patients could not be recomputed", len(patient_ids))


@contextmanager
def deferred_recompute() -> Iterator[set[int]]:
    """Collect the patients whose signals need recomputing; evaluate them once at the end
    (also when the block raises: what was committed before is evaluated)."""
    if _pending() is not None:  # nested: the outer block evaluates
        yield _local.pending
        return
    noted: set[int] = set()
    _local.pending = noted
    try:
        yield noted
    finally:
        _local.pending = None
        if noted:
            ids = set(noted)
            transaction.on_commit(lambda: evaluate_noted(ids))  # now, outside a transaction
