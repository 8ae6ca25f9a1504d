"""Resource types served from several tables: Observation (instrument scores, lab results, vital
signs), Task (risk-assessment tasks, hand-offs).

Each table is a `Source` with its own id prefix (`score-12`, `lab-7`), its own access policy and
its own translation of each search parameter into a filter. A search filters every source in
the database, then pages through the UNION ALL of their (source, id, sort columns) rows: one
query for the total, one for the page, then one per source to load the page's rows — the same
number of queries whatever the number of rows, and `total`, `_sort` and the next links hold
across sources exactly as for a single table.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar

from django.db.models import F, IntegerField, Model, Q, QuerySet, Value

from tandem.fhir.audit import record_reads
from tandem.fhir.auth import Caller
from tandem.fhir.policy import grants
from tandem.fhir.registry import Page, ResourceType, row_patient, total_of
from tandem.fhir.search import NOTHING, DateParam, Param, Query, ReferenceParam, Token


class Source:
    """One table behind a resource type."""

    prefix: ClassVar[str] = ""  # e.g. "score-": ids are <prefix><primary key>
    need: ClassVar[str] = ""  # what the caller needs for the patient of a row (fhir.policy)
    # Search parameters of the date and reference kinds, and union columns, → this table's field.
    # A date or reference parameter a source has no field for matches none of its rows.
    fields: ClassVar[dict[str, str]] = {}
    # Token parameters (and any other) → the filter for one value; absent: matches none.
    filters: ClassVar[dict[str, Callable[[Any], Q]]] = {}

    def base(self, caller: Caller) -> QuerySet[Any]:
        """The rows of this source the caller may see (the policy applied in the query)."""
        raise NotImplementedError

    def load(self, rows: QuerySet[Any]) -> QuerySet[Any]:
        """`rows` with everything `to_fhir` reads joined or prefetched."""
        return rows

    def owns(self, row: Any) -> bool:
        raise NotImplementedError

    def to_fhir(self, row: Any) -> dict[str, Any]:
        raise NotImplementedError

    def q(self, param: Param, value: Any) -> Q:
        if param.name in self.filters:
            return self.filters[param.name](value)
        field = self.fields.get(param.name)
        if field is None:
            return NOTHING
        if isinstance(param, DateParam):
            return value.q(field, is_date=param.is_date)
        if isinstance(param, ReferenceParam):
            if value is None or not value.isdigit() or len(value) > 18:
                return NOTHING
            return Q(**{field: int(value)})
        raise AssertionError(f"{param.name}: no filter in {type(self).__name__}")


class UnionType(ResourceType):
    """A resource type whose resources come from several `sources` (tried in order for reads)."""

    sources: ClassVar[tuple[Source, ...]] = ()
    # The union's sort columns; each source names its field for each in `Source.fields`.
    # `sorts` maps a _sort key to one of these, or to "_id" (by source, then primary key).
    columns: ClassVar[tuple[str, ...]] = ()
    default_sort = ("-date",)  # columns, "-" for descending
    # Here `patient_field` names the key of each source's `fields` that holds its patient (the
    # field its `base` applies the policy to).

    # --- ids --------------------------------------------------------------------------------

    def parse_id(self, rid: str) -> tuple[int, int] | None:
        for index, source in enumerate(self.sources):
            number = rid.removeprefix(source.prefix)
            if rid.startswith(source.prefix) and number.isdigit() and len(number) < 19 and int(number) > 0:
                return index, int(number)
        return None

    def source_of(self, row: Any) -> Source:
        return next(s for s in self.sources if s.owns(row))

    def to_fhir(self, row: Any) -> dict[str, Any]:
        return self.source_of(row).to_fhir(row)

    def read(self, caller: Caller, rid: str) -> Any | None:
        found = self.parse_id(rid)
        if found is None:
            return None
        source = self.sources[found[0]]
        if self.patient_field:
            model = source.base(replace(caller, within=frozenset())).model
            narrowed = row_patient(caller, model, source.fields[self.patient_field], found[1])
            if narrowed is None:
                return None
            caller = narrowed
        return source.load(source.base(caller)).filter(pk=found[1]).first()

    def fetch(self, caller: Caller, ids: set[str]) -> list[Any]:
        wanted: dict[int, list[int]] = {}
        for parsed in (self.parse_id(i) for i in ids):
            if parsed is not None:
                wanted.setdefault(parsed[0], []).append(parsed[1])
        return [row for index, pks in sorted(wanted.items()) for row in self._load(caller, index, pks)]

    def _load(self, caller: Caller, index: int, pks: list[int]) -> list[Any]:
        source = self.sources[index]
        return list(source.load(source.base(caller)).filter(pk__in=pks))

    # --- search -----------------------------------------------------------------------------

    def _q(self, index: int, param: Param, value: Any) -> Q:
        if param.name == "_id":
            assert isinstance(value, Token)
            parsed = self.parse_id(value.code)
            return Q(pk=parsed[1]) if parsed is not None and parsed[0] == index else NOTHING
        return self.sources[index].q(param, value)

    def _part(self, caller: Caller, index: int, query: Query) -> QuerySet[Any] | None:
        """The source's rows matching the query as union columns; None when a parameter matches
        none of its rows (a survey category asked of laboratory results), so that the union
        leaves the source out."""
        source = self.sources[index]
        conditions = []
        for param, values in query.filters:
            found = [self._q(index, param, value) for value in values]
            if all(q == NOTHING for q in found):
                return None
            conditions.append(functools.reduce(operator.or_, (q for q in found if q != NOTHING)))
        rows = source.base(caller)
        for condition in conditions:
            rows = rows.filter(condition)
        columns = {f"u_{c}": F(source.fields[c]) for c in self.columns}
        return (
            rows.order_by()
            .annotate(u_src=Value(index, output_field=IntegerField()), u_pk=F("pk"), **columns)
            .values("u_src", "u_pk", *columns)
        )

    def _order(self, query: Query) -> list[str]:
        keys = query.sort or [(k.lstrip("-"), k.startswith("-")) for k in self.default_sort]
        order: list[str] = []
        for key, desc in keys:
            column = self.sorts.get(key, key)
            names = ["u_src", "u_pk"] if column == "_id" else [f"u_{column}"]
            order += [("-" if desc else "") + n for n in names]
        if not any(o.lstrip("-") == "u_pk" for o in order):
            order += ["u_src", "u_pk"]
        return order

    def search(self, caller: Caller, query: Query) -> Page:
        parts = [part for i in range(len(self.sources)) if (part := self._part(caller, i, query)) is not None]
        if not parts:
            return Page([], 0 if query.total else None, False)
        combined = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        if query.count == 0:
            return Page([], combined.count() if query.total else None, False)
        window = list(combined.order_by(*self._order(query))[query.offset : query.offset + query.count + 1])
        total = total_of(query, len(window), combined.count)
        keys = [(r["u_src"], r["u_pk"]) for r in window[: query.count]]
        by_source: dict[int, list[int]] = {}
        for index, pk in keys:
            by_source.setdefault(index, []).append(pk)
        loaded: dict[tuple[int, int], Model] = {}
        for index, pks in by_source.items():
            loaded |= {(index, row.pk): row for row in self._load(caller, index, pks)}
        rows = [loaded[k] for k in keys if k in loaded]
        return Page(rows, total, len(window) > query.count)

    # --- audit ------------------------------------------------------------------------------

    def audit(self, request: Any, caller: Caller, rows: list[Any], interaction: str) -> None:
        """One READ per patient touched, naming what was read of them (e.g. "measures+medications")."""
        needs: dict[int, set[str]] = {}
        for row in rows:
            needs.setdefault(row.patient_id, set()).add(self.source_of(row).need)
        groups: dict[str, set[int]] = {}
        for pid, found in needs.items():
            groups.setdefault("+".join(sorted(found)), set()).add(pid)
        for need, patients in sorted(groups.items()):
            record_reads(request, caller, self.name, patients, need=need, interaction=interaction)

    def visible_among(self, caller: Caller, patient_ids: set[int]) -> set[int]:
        seen: set[int] = set()
        for need in sorted({s.need for s in self.sources}):
            seen |= set(grants(caller, patient_ids, need))
        return seen
