"""How `tandem demo` and `tandem synth` find each app's data builders.

Each domain app may have `demo.py` with `build(ctx: DemoContext)` (realistic data for people to
look at; idempotent) and `synth.py` with `generate(ctx: SynthContext)` (bulk data for
benchmarks; deterministic for a seed). Apps run in INSTALLED_APPS order, so a later app finds
what earlier ones made in the context.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from types import ModuleType
from typing import Any

from django.apps import apps
from django.db import connection
from django.db.models import Field, Model

# Raise this whenever a capability adds to `tandem synth`: benchmark databases are kept per version.
SYNTH_VERSION = 6


def builders(module_name: str) -> Iterator[tuple[str, ModuleType]]:
    for config in apps.get_app_configs():
        if not config.name.startswith("tandem."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.{module_name}":
                raise
            continue
        yield config.label, module


@dataclass
class DemoContext:
    password: str
    today: date
    rng: random.Random
    out: Any = None
    orgs: dict[str, Any] = field(default_factory=dict)
    users: dict[str, Any] = field(default_factory=dict)
    patients: list[Any] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, n: int = 1) -> None:
        self.created[what] = self.created.get(what, 0) + n


@dataclass
class SynthContext:
    patients: int
    seed: int
    rng: random.Random
    anchor: date
    progress: Any
    batch: int = 2000
    org_ids: list[int] = field(default_factory=list)
    user_ids: dict[str, list[int]] = field(default_factory=dict)
    patient_id_range: tuple[int, int] = (0, -1)
    created: dict[str, int] = field(default_factory=dict)


def insert_rows(
    model: type[Model], fields: Sequence[str], rows: Iterable[Sequence[Any]], *, batch: int = 5000
) -> int:
    """Insert plain rows (values in `fields` order) with one executemany per batch: for synthetic
    data only, several times faster than bulk_create because no model instances are made. Values
    are prepared for the database by each field as Django would; defaults are not applied, so name
    every column that has no database default. Returns the number of rows."""
    meta = model._meta
    columns: list[Field[Any, Any]] = []
    for name in fields:
        found = meta.get_field(name)
        if not isinstance(found, Field) or not found.column:
            raise ValueError(f"{meta.label}.{name} is not a column")
        columns.append(found)
    table = connection.ops.quote_name(meta.db_table)
    names = ", ".join(connection.ops.quote_name(str(f.column)) for f in columns)
    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 — names come from the model
    prepare = [f.get_db_prep_save for f in columns]
    done = 0
    chunk: list[list[Any]] = []
    with connection.cursor() as cursor:
        for row in rows:
            chunk.append([p(v, connection) for p, v in zip(prepare, row, strict=True)])
            if len(chunk) >= batch:
                cursor.executemany(sql, chunk)
                done += len(chunk)
                chunk = []
        if chunk:
            cursor.executemany(sql, chunk)
            done += len(chunk)
    return done
