"""Lookups on the hottest request paths, compiled to SQL once per process instead of per request.

Building and compiling a queryset costs a few tenths of a millisecond of CPU each time — a
sizeable part of a request that only looks up a token, a medication and its version before one
write (the dose log, hundreds of times a second). A `PreparedLookup` is declared with a function
that builds the queryset from its arguments; the first call compiles it with placeholder values,
remembers where those values sit among the SQL parameters, and every later call runs the same SQL
with the new values, turning the row into model instances (with their `select_related` objects)
exactly as the queryset would. The result is what `queryset.first()` would return.

Only values passed as arguments may vary: anything else the builder puts in the query (a date,
a constant) is fixed at the first call, so pass every varying value as an argument.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]

M = TypeVar("M", bound=Model)

_counter = itertools.count(1)


@dataclass
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: dict[int, tuple[str, type]]  # parameter position → argument name and type
    converters: Any
    compiler: Any
    init_list: list[str]
    start: int
    end: int
    populators: list[Any]
    annotations: dict[str, int]  # annotation → its column


class PreparedLookup(Generic[M]):
    """`PreparedLookup(lambda pk, user_id: Model.objects.filter(...), pk=int, user_id=int)`:
    the keyword arguments name each argument's type (int, str, date or datetime) so that a
    placeholder of that type can be made; a datetime is compared with a DateTimeField, a date
    with a DateField. An argument may appear several times; annotations are set on the object."""

    def __init__(self, build: Callable[..., QuerySet[M]], **types: type) -> None:
        self.build = build
        self.types = types
        self._compiled: dict[str, _Compiled] = {}

    def _placeholder(self, kind: type) -> Any:
        n = next(_counter)
        if kind is int:
            return 7_000_000_000_000 + n  # no real id is this large
        if kind is str:
            return f"\x1fprepared-{n}\x1f"
        if kind is datetime:
            return datetime(2999, 1, 1, tzinfo=UTC) + timedelta(seconds=n)
        if kind is date:
            return date(2999, 1, 1) + timedelta(days=n)
        raise TypeError(f"no placeholder for {kind!r}")

    @staticmethod
    def _param(alias: str, kind: type, value: Any) -> Any:
        """The value as the database receives it (datetimes are adapted: a string on SQLite)."""
        if kind is datetime:
            return connections[alias].ops.adapt_datetimefield_value(value)
        if kind is date:
            return connections[alias].ops.adapt_datefield_value(value)
        return value

    def _compile(self, alias: str, *, every: bool = False) -> _Compiled:
        placeholders = {name: self._placeholder(kind) for name, kind in self.types.items()}
        queryset = self.build(**placeholders)
        if not every:
            queryset = queryset[:1]
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        by_value = {self._param(alias, self.types[name], value): name for name, value in placeholders.items()}
        slots = {
            i: (by_value[p], self.types[by_value[p]])
            for i, p in enumerate(params)
            if isinstance(p, int | str | date) and p in by_value
        }
        if {name for name, _ in slots.values()} != set(placeholders):
            raise ValueError("each argument must appear in the query exactly as passed")
        klass_info = compiler.klass_info
        select = compiler.select
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        return _Compiled(
            sql=sql,
            params=tuple(params),
            slots=slots,
            converters=compiler.get_converters([s[0] for s in select]),
            compiler=compiler,
            init_list=[f[0].target.attname for f in select[start:end]],
            start=start,
            end=end,
            populators=get_related_populators(klass_info, select, alias),
            annotations=dict(compiler.annotation_col_map or {}),
        )

    def first(self, using: str = "default", **values: Any) -> M | None:
        """What `queryset.first()` answers."""
        found = self._run(using, False, values)
        return found[0] if found else None

    def all(self, using: str = "default", **values: Any) -> list[M]:
        """What `list(queryset)` answers."""
        return self._run(using, True, values)

    def _run(self, using: str, every: bool, values: dict[str, Any]) -> list[M]:
        key = f"{using}:{'all' if every else 'first'}"
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._compile(using, every=every)
        params = list(compiled.params)
        for i, (name, kind) in compiled.slots.items():
            params[i] = self._param(using, kind, values[name])
        with connections[using].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.converters:
            rows = list(compiled.compiler.apply_converters(rows, compiled.converters))
        model = compiled.compiler.klass_info["model"]
        found = []
        for row in rows:
            obj = model.from_db(using, compiled.init_list, row[compiled.start : compiled.end])
            for populator in compiled.populators:
                populator.populate(row, obj)
            for name, column in compiled.annotations.items():
                setattr(obj, name, row[column])
            found.append(obj)
        return found
