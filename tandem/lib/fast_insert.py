"""Inserting new rows of one model, the statement built once per model and row count (an
import's thousands of responses, the audit rows every request appends): what `Model.objects.bulk_create(objs)` does for plain values, without
building and compiling a query per batch.

Each row's values are those bulk_create sends the database — `field.get_db_prep_save(
field.pre_save(obj, add=True), connection)` for each concrete field but the automatic primary
key — and the primary keys come back from `INSERT … RETURNING`, set on the objects, which are
then saved as far as Django is concerned. `values()` may be computed ahead (by another process,
which has the same settings) and handed to `insert()`. Whatever this does not cover — a model
with other database-computed columns, a field with its own placeholder, an object with its
primary key set or a related object not saved, a database without RETURNING for many rows,
a value that is an expression — goes through bulk_create itself.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from django.db import connections, router
from django.db.models import AutoField, Model

M = TypeVar("M", bound=Model)


class FastInsert(Generic[M]):
    def __init__(self, model: type[M]) -> None:
        self.model = model
        meta = model._meta
        self.pk = meta.pk
        self.fields = [f for f in meta.concrete_fields if not isinstance(f, AutoField)]
        self.plain = (
            isinstance(self.pk, AutoField)
            and list(meta.db_returning_fields) == [self.pk]
            and not any(hasattr(f, "get_placeholder") or getattr(f, "generated", False) for f in self.fields)
        )
        self._sql: dict[tuple[str, int], str] = {}

    def values(self, obj: M, alias: str | None = None) -> tuple[Any, ...]:
        """What the database is sent for `obj` (its `pre_save` values set on it, as by a save)."""
        connection = connections[alias or router.db_for_write(self.model)]
        obj._prepare_related_fields_for_save(operation_name="bulk_create")  # type: ignore[attr-defined]
        return tuple(f.get_db_prep_save(f.pre_save(obj, True), connection) for f in self.fields)

    def insert(self, objs: list[M], ready: dict[int, tuple[Any, ...]] | None = None) -> list[M]:
        """Insert `objs` (each unsaved, without a primary key); `ready`: values() already
        computed, by id(obj). Returns `objs`, their primary keys set."""
        if not objs:
            return objs
        alias = router.db_for_write(self.model)
        connection = connections[alias]
        if not self._fits(objs, connection):
            return self.model._default_manager.bulk_create(objs)
        ready = ready or {}
        rows = [ready.get(id(obj)) or self.values(obj, alias) for obj in objs]
        if any(hasattr(v, "resolve_expression") for row in rows for v in row):
            return self.model._default_manager.bulk_create(objs)
        size = max(1, connection.ops.bulk_batch_size(self.fields, objs))
        with connection.cursor() as cursor:
            for start in range(0, len(rows), size):
                batch = rows[start : start + size]
                cursor.execute(self._statement(connection, len(batch)), [v for row in batch for v in row])
                keys = [row[0] for row in cursor.fetchall()]
                if len(keys) != len(batch):
                    raise RuntimeError(f"{len(batch)} rows inserted, {len(keys)} keys returned")
                for obj, key in zip(objs[start : start + size], keys, strict=True):
                    setattr(obj, self.pk.attname, key)
                    obj._state.adding = False
                    obj._state.db = alias
        return objs

    def _fits(self, objs: list[M], connection: Any) -> bool:
        return (
            self.plain
            and connection.features.can_return_rows_from_bulk_insert
            and all(getattr(obj, self.pk.attname) is None and obj._state.adding for obj in objs)
        )

    def _statement(self, connection: Any, rows: int) -> str:
        key = (connection.alias, rows)
        if key not in self._sql:
            qn = connection.ops.quote_name
            placeholders = [["%s"] * len(self.fields)] * rows
            returning, _ = connection.ops.return_insert_columns([self.pk])
            # The table and columns are the model's own; every value is a parameter.
            self._sql[key] = " ".join(
                [
                    f"INSERT INTO {qn(self.model._meta.db_table)}",
                    "(" + ", ".join(qn(f.column) for f in self.fields) + ")",
                    connection.ops.bulk_insert_sql(self.fields, placeholders),
                    returning,
                ]
            )
        return self._sql[key]
