"""Timing requests through the whole Django stack, in-process, and reporting them.

Imported after django.setup(). A request's time is measured around django.test.Client.get: the
middleware, the view, its queries and the template, without a network or a web server. Query
counts come from a separate, captured pass, so that capturing does not slow the timed one.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

TARGET_P95_MS = 100.0


class BenchmarkError(Exception):
    pass


@dataclass
class Result:
    name: str
    path: str
    n: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    queries: list[int]  # the distinct query counts seen in the captured pass
    sql: list[str] = field(default_factory=list, repr=False)  # one captured request's queries
    ratio_p50: float | None = None  # to the ceiling's p50
    ratio_p95: float | None = None
    has_target: bool = True
    target_ms: float = TARGET_P95_MS  # p95 must be below it

    @property
    def passed(self) -> bool:
        return self.p95_ms < self.target_ms

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed if self.has_target else None
        return data


def get_ok(client: Client, path: str) -> None:
    response = client.get(path)
    if response.status_code != 200:
        body = response.content[:400].decode(errors="replace")
        raise BenchmarkError(f"GET {path} answered {response.status_code}:\n{body}")


def measure(
    client: Client, name: str, path: str, *, requests: int, warmup: int, captured: int = 10
) -> Result:
    for _ in range(warmup):
        get_ok(client, path)
    seconds = []
    for _ in range(requests):
        started = time.perf_counter()
        get_ok(client, path)
        seconds.append(time.perf_counter() - started)
    counts: set[int] = set()
    sql: list[str] = []
    for _ in range(captured):
        with CaptureQueriesContext(connection) as ctx:
            get_ok(client, path)
        counts.add(len(ctx.captured_queries))
        sql = [q["sql"] for q in ctx.captured_queries]
    ms = sorted(s * 1000 for s in seconds)
    return Result(
        name=name,
        path=path,
        n=requests,
        p50_ms=statistics.median(ms),
        p95_ms=percentile(ms, 95),
        max_ms=ms[-1],
        queries=sorted(counts),
        sql=sql,
    )


def measure_call(
    name: str, path: str, call: Callable[[], None], *, requests: int, warmup: int, target_ms: float
) -> Result:
    """Time `call` (one request that checks its own answer, e.g. a POST) like `measure` times a
    GET: warm-up, timed requests, then the query counts of a few captured ones."""
    for _ in range(warmup):
        call()
    seconds = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    counts: set[int] = set()
    for _ in range(5):
        with CaptureQueriesContext(connection) as ctx:
            call()
        counts.add(len(ctx.captured_queries))
    ms = sorted(s * 1000 for s in seconds)
    return Result(
        name=name,
        path=path,
        n=requests,
        p50_ms=statistics.median(ms),
        p95_ms=percentile(ms, 95),
        max_ms=ms[-1],
        queries=sorted(counts),
        target_ms=target_ms,
    )


def percentile(sorted_values: list[float], pct: float) -> float:
    """The nearest-rank percentile."""
    rank = max(1, round(pct / 100 * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def with_ceiling(results: list[Result], ceiling: Result) -> list[Result]:
    for result in results:
        result.ratio_p50 = result.p50_ms / ceiling.p50_ms
        result.ratio_p95 = result.p95_ms / ceiling.p50_ms
    return results


def table(results: list[Result]) -> str:
    header = f"{'name':34} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8} {'p50/ceil':>9} {'p95/ceil':>9}  target"
    lines = [header, "-" * len(header)]
    for r in results:
        queries = "-".join(str(c) for c in sorted({r.queries[0], r.queries[-1]})) if r.queries else "?"
        ratio50 = f"{r.ratio_p50:.1f}x" if r.ratio_p50 is not None else ""
        ratio95 = f"{r.ratio_p95:.1f}x" if r.ratio_p95 is not None else ""
        verdict = (
            (f"< {r.target_ms:.0f}: " + ("PASS" if r.passed else "FAIL")) if r.has_target else "(ceiling)"
        )
        lines.append(
            f"{r.name:34} {r.n:>5} {r.p50_ms:>8.2f} {r.p95_ms:>8.2f} {r.max_ms:>8.2f} {queries:>8} "
            f"{ratio50:>9} {ratio95:>9}  {verdict}"
        )
    lines.append("target: p95 below the figure shown (ms), on SQLite; ratios are to the ceiling's p50")
    return "\n".join(lines)


def explain(sql: list[str]) -> str:
    """EXPLAIN QUERY PLAN of each SELECT (SQLite), to see which indexes a page uses."""
    out = []
    with connection.cursor() as cursor:
        for statement in sql:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN QUERY PLAN " + statement)
            plan = "\n".join(f"    {row[-1]}" for row in cursor.fetchall())
            out.append(f"  {statement[:300]}{'…' if len(statement) > 300 else ''}\n{plan}")
    return "\n".join(out)
