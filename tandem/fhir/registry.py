"""The resource types the FHIR API serves, each a small class registered here.

A type says what it serves (interactions, search parameters with their types, `_sort` keys,
`_include`s, the consent category it needs) and how: `queryset(caller)` — the rows the caller may
see, the access policy already applied — and `to_fhir(row)`; optionally `create`. The routes,
the CapabilityStatement and the strict parameter check are all generated from these classes, so
what /fhir/metadata declares is what the routes do. See README.md in this folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest

from tandem.fhir.audit import record_reads
from tandem.fhir.auth import Caller
from tandem.fhir.policy import grants, parse_patient_id
from tandem.fhir.search import DateParam, Param, Query, Token, TokenParam, parse_query
from tandem.lib.prepared import PreparedLookup

ID_PATTERN = r"[A-Za-z0-9\-.]{1,64}"


@dataclass(frozen=True)
class Include:
    """`_include=<Type>:<param>`: the `target` resources that `ids(row)` names."""

    target: str
    ids: Callable[[Any], Iterable[str]]


@dataclass
class Page:
    rows: list[Any]
    total: int | None
    more: bool


class ResourceType:
    name: ClassVar[str] = ""
    # The consent category (tandem.patients.models.Category), RECORD or SAFETY (fhir.policy)
    # the caller needs for the patient of a row; None for resources that are not patient data.
    need: ClassVar[str | None] = None
    interactions: ClassVar[tuple[str, ...]] = ("read", "search-type")
    params: ClassVar[tuple[Param, ...]] = ()
    sorts: ClassVar[dict[str, str]] = {}  # `_sort` key → ORM field (a resource key in memory)
    default_sort: ClassVar[tuple[str, ...]] = ("-pk",)
    includes: ClassVar[dict[str, Include]] = {}
    last_updated: ClassVar[str] = ""  # the ORM field behind _lastUpdated, if any
    conditional_create: ClassVar[bool] = False
    # Parameters that name a patient: a search naming one the caller may not see is audited as
    # a denial (its answer, an empty Bundle, is the same as for a patient that does not exist).
    patient_params: ClassVar[tuple[str, ...]] = ("patient", "subject")
    # The field of a row holding its patient's id, when the policy filters on it (fhir.policy's
    # `visible`) and every parameter of `patient_params` filters on it too. A read, or a search
    # naming its patients, is then decided for those patients alone (`narrowed`): the same rows,
    # from queries that filter on a short list of patients instead of carrying the whole policy.
    patient_field: ClassVar[str] = ""
    documentation: ClassVar[str] = ""

    # --- what a type provides ----------------------------------------------------------------

    def queryset(self, caller: Caller) -> QuerySet[Any]:
        raise NotImplementedError

    def to_fhir(self, row: Any) -> dict[str, Any]:
        raise NotImplementedError

    def create(self, request: HttpRequest, caller: Caller, body: dict[str, Any]) -> tuple[Any, bool]:
        """Store `body`; (row, created). Raise FhirError for bad input or a patient not visible."""
        raise NotImplementedError

    # --- defaults a type may override --------------------------------------------------------

    def parse_id(self, rid: str) -> Any | None:
        return int(rid) if rid.isdigit() and len(rid) < 19 and int(rid) > 0 else None

    def patient_of(self, row: Any) -> int | None:
        return getattr(row, "patient_id", None)

    def all_params(self) -> dict[str, Param]:
        found: dict[str, Param] = {"_id": TokenParam("_id", q=self._id_q, match=_id_match)}
        if self.last_updated:
            found["_lastUpdated"] = DateParam("_lastUpdated", self.last_updated)
        found.update({p.name: p for p in self.params})
        return found

    def parse(self, items: Iterable[tuple[str, str]]) -> Query:
        return parse_query(items, self.all_params(), self.sorts, self.includes)

    def read(self, caller: Caller, rid: str) -> Any | None:
        pk = self.parse_id(rid)
        if pk is None:
            return None
        if self.patient_field:
            model = self.queryset(replace(caller, within=frozenset())).model
            found = row_patient(caller, model, self.patient_field, pk)
            if found is None:
                return None
            caller = found
        return self.queryset(caller).filter(pk=pk).first()

    def narrowed(self, caller: Caller, query: Query) -> Caller:
        """The caller for this search: decided for the patients it names when it names some
        (every row it can answer belongs to one of them), else as it is."""
        if not self.patient_field:
            return caller
        named = named_patients(self, query)
        return replace(caller, within=frozenset(named)) if named else caller

    def fetch(self, caller: Caller, ids: set[str]) -> list[Any]:
        pks = [pk for pk in (self.parse_id(i) for i in ids) if pk is not None]
        return list(self.queryset(caller).filter(pk__in=pks)) if pks else []

    def search(self, caller: Caller, query: Query) -> Page:
        rows = self.queryset(caller)
        for param, values in query.filters:
            condition = Q()
            for n, value in enumerate(values):
                condition = param.q(value) if n == 0 else condition | param.q(value)
            rows = rows.filter(condition)
        order = [("-" if desc else "") + self.sorts[key] for key, desc in query.sort] or list(
            self.default_sort
        )
        if not any(o.lstrip("-") == "pk" for o in order):
            order.append("pk")
        if query.count == 0:
            return Page([], rows.count() if query.total else None, False)
        found = list(rows.order_by(*order)[query.offset : query.offset + query.count + 1])
        return Page(found[: query.count], total_of(query, len(found), rows.count), len(found) > query.count)

    def audit(self, request: HttpRequest, caller: Caller, rows: list[Any], interaction: str) -> None:
        """One READ per patient touched; types that are not patient data audit nothing."""
        if self.need is None:
            return
        patients = {pid for pid in (self.patient_of(r) for r in rows) if pid is not None}
        record_reads(request, caller, self.name, patients, need=self.need, interaction=interaction)

    def visible_among(self, caller: Caller, patient_ids: set[int]) -> set[int]:
        """Which of these patients' resources of this type the caller may see (a search naming
        any other is audited as a denial)."""
        assert self.need is not None
        return set(grants(caller, patient_ids, self.need))

    def _id_q(self, token: Any) -> Q:
        pk = self.parse_id(token.code)
        return Q(pk=pk) if pk is not None else Q(pk__in=[])


def total_of(query: Query, found: int, count: Callable[[], int]) -> int | None:
    """`_total` for a page of `found` rows (one more than a page when there are more): known
    without counting unless the page is full, or empty past the first."""
    if not query.total:
        return None
    if found <= query.count and (found or not query.offset):
        return query.offset + found
    return count()


def named_patients(rtype: ResourceType, query: Query) -> set[int]:
    """The patients a search names through its patient parameters."""
    found: set[int] = set()
    for param, values in query.filters:
        if param.name not in rtype.patient_params:
            continue
        for value in values:
            pid = parse_patient_id(value.code if isinstance(value, Token) else value)
            if pid is not None:
                found.add(pid)
    return found


def row_patient(caller: Caller, model: type[Model], field: str, pk: Any) -> Caller | None:
    """The caller decided for the patient of this row (None when there is no such row)."""
    key = (model, field)
    if key not in _PATIENT_OF:
        _PATIENT_OF[key] = PreparedLookup(lambda pk: model._default_manager.filter(pk=pk).only(field), pk=int)
    row = _PATIENT_OF[key].first(pk=pk)
    pid = None if row is None else getattr(row, "pk" if field == "id" else field)
    return None if pid is None else replace(caller, within=frozenset({pid}))


_PATIENT_OF: dict[tuple[type[Model], str], PreparedLookup[Any]] = {}


def _id_match(resource: dict[str, Any], token: Any) -> bool:
    return resource.get("id") == token.code


class MemoryType(ResourceType):
    """A type whose resources are built in memory from a few rows — the instrument definitions,
    or the goals and problems inside one patient's plans — and filtered, sorted and paged there.
    Rows are (patient id or None, resource)."""

    default_sort = ("id",)

    def candidates(self, caller: Caller, query: Query) -> list[tuple[int | None, dict[str, Any]]]:
        raise NotImplementedError

    def to_fhir(self, row: Any) -> dict[str, Any]:
        return row[1]

    def patient_of(self, row: Any) -> int | None:
        return row[0]

    def parse_id(self, rid: str) -> Any | None:
        return rid

    def read(self, caller: Caller, rid: str) -> Any | None:
        return next(iter(self.fetch(caller, {rid})), None)

    def fetch(self, caller: Caller, ids: set[str]) -> list[Any]:
        query = Query(filters=[(self.all_params()["_id"], [_IdToken(i) for i in sorted(ids)])])
        query.count, query.total = max(len(ids), 1), False
        return self.search(caller, query).rows

    def search(self, caller: Caller, query: Query) -> Page:
        rows = self.candidates(caller, query)
        for param, values in query.filters:
            rows = [r for r in rows if any(param.match(r[1], v) for v in values)]
        keys = query.sort or [(k.lstrip("-"), k.startswith("-")) for k in self.default_sort]
        for key, desc in reversed(keys):
            field = self.sorts.get(key, key)
            rows.sort(key=lambda r, f=field: str(r[1].get(f) or ""), reverse=desc)  # type: ignore[misc]
        page = rows[query.offset : query.offset + query.count]
        return Page(page, len(rows) if query.total else None, query.offset + query.count < len(rows))


@dataclass(frozen=True)
class _IdToken:
    code: str
    system: str | None = None


REGISTRY: dict[str, ResourceType] = {}


def register(cls: type[ResourceType]) -> type[ResourceType]:
    assert cls.name and cls.name not in REGISTRY, cls.name
    REGISTRY[cls.name] = cls()
    return cls


def get(name: str) -> ResourceType | None:
    return REGISTRY.get(name)
