from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tandem.audit.chain import HASHED_FIELDS, ChainProblem, verify_rows
from tandem.audit.models import AuditChainHead, AuditEvent

COLUMNS = tuple({*HASHED_FIELDS, "prev_hash", "hash"})


def _rows(batch: int = 5000) -> Iterator[dict[str, Any]]:
    """All rows in seq order, in keyset-paginated batches so memory stays bounded."""
    last = 0
    while True:
        chunk = list(AuditEvent.objects.filter(seq__gt=last).order_by("seq").values(*COLUMNS)[:batch])
        if not chunk:
            return
        yield from chunk
        last = chunk[-1]["seq"]


def verify_chain() -> tuple[int, list[ChainProblem]]:
    """(rows checked, problems found, first first)."""
    head = AuditChainHead.objects.filter(id=1).first()
    head_seq, head_hash = (head.last_seq, head.last_hash) if head else (0, "0" * 64)
    count = 0

    def counted() -> Iterator[dict[str, Any]]:
        nonlocal count
        for row in _rows():
            count += 1
            yield row

    problems = list(verify_rows(counted(), head_seq=head_seq, head_hash=head_hash))
    return count, problems
