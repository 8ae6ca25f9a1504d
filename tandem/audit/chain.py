"""The audit hash chain: how a row's hash is computed, and how the chain is verified."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS = "0" * 64

# The columns a row's hash covers, in order. Changing this list changes every hash.
HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor_label",
    "actor_role",
    "actor_organisation_id",
    "action",
    "entity_type",
    "entity_id",
    "patient_id",
    "ip",
    "user_agent",
    "outcome",
    "extra",
)


def _normal(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    return value


def row_hash(prev_hash: str, content: dict[str, Any]) -> str:
    payload = {field: _normal(content.get(field)) for field in HASHED_FIELDS}
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256((prev_hash + "\n" + body).encode()).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    seq: int | None
    kind: str  # "altered", "inserted", "missing"
    detail: str

    def __str__(self) -> str:
        where = f"row seq={self.seq}" if self.seq is not None else "end of chain"
        return f"{self.kind}: {where}: {self.detail}"


def verify_rows(rows: Iterable[dict[str, Any]], *, head_seq: int, head_hash: str) -> Iterator[ChainProblem]:
    """Yield the problems found walking `rows` (ascending seq), first problem first.

    A row whose stored hash does not match its content was altered. A row whose seq is out of
    sequence, or whose prev_hash does not link to the row before, was inserted (if its seq repeats
    or its content hashes fine but the link is broken) or follows a missing row.
    """
    expected_seq = 1
    prev_hash = GENESIS
    for row in rows:
        seq = row["seq"]
        if seq < expected_seq:
            yield ChainProblem(seq, "inserted", f"sequence number {seq} repeats or goes backwards")
            continue
        if seq > expected_seq:
            yield ChainProblem(seq, "missing", f"rows {expected_seq}..{seq - 1} are missing before it")
        elif row["prev_hash"] != prev_hash:
            yield ChainProblem(seq, "inserted", "its link to the previous row is broken")
        if row_hash(row["prev_hash"], row) != row["hash"]:
            yield ChainProblem(seq, "altered", "its content does not match its hash")
        prev_hash = row["hash"]
        expected_seq = seq + 1
    last_seq = expected_seq - 1
    if last_seq < head_seq:
        yield ChainProblem(None, "missing", f"the chain ends at {last_seq} but {head_seq} rows were written")
    elif last_seq > head_seq:
        yield ChainProblem(last_seq, "inserted", f"rows past {head_seq}, the last one written, were added")
    elif last_seq and prev_hash != head_hash:
        yield ChainProblem(last_seq, "altered", "the last row does not match the recorded chain tip")
