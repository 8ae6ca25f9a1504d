"""Search parameters and the parsing of a search request.

Strict handling: a parameter the resource type does not declare, a modifier, an `_include` or a
`_sort` key it does not offer is a 400 OperationOutcome naming it — never silently ignored, so a
client never mistakes an unfiltered result for a filtered one (FHIR's `Prefer: handling=strict`,
always on). Empty values are ignored, as FHIR asks.

Values: a comma separates alternatives (OR); a repeated parameter narrows further (AND).
Tokens: `code`, `system|code`, `|code` (no system), `system|` (any code of the system).
Dates: an optional prefix (eq ne lt gt le ge sa eb) and a date of any precision — `2024`,
`2024-05`, `2024-05-17`, `2024-05-17T10:30`, with seconds, fractions and a zone; a value without
a zone is read in the server's time zone. Each value is the range its precision covers, compared
with FHIR's rules (e.g. `lt2024-05` is before 1 May, `le2024-05` before 1 June).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tandem.fhir.errors import FhirError, bad_request

DEFAULT_COUNT = 50
MAX_COUNT = 200
MAX_OFFSET = 10_000  # deeper pages: narrow the search (by date, say) instead
PREFIXES = ("eq", "ne", "lt", "gt", "le", "ge", "sa", "eb")
CONTROL = ("_count", "_sort", "_include", "_offset", "_total", "_format", "_pretty")
FORMATS = ("json", "application/json", "application/fhir+json")
NOTHING = Q(pk__in=[])
_DATE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_COMMA = re.compile(r"(?<!\\),")


@dataclass(frozen=True)
class Token:
    system: str | None  # None: any system; "": no system
    code: str  # "": any code of the system

    def matches(self, system: str | None, code: str | None) -> bool:
        if self.system is not None and (system or "") != self.system:
            return False
        return not self.code or code == self.code

    def matches_concept(self, concept: dict[str, Any] | None) -> bool:
        codings = (concept or {}).get("coding") or []
        return any(self.matches(c.get("system"), c.get("code")) for c in codings)


@dataclass(frozen=True)
class DateRange:
    prefix: str
    start: datetime  # inclusive
    end: datetime  # exclusive
    start_date: date
    end_date: date  # exclusive

    def q(self, field_name: str, *, is_date: bool = False) -> Q:
        lo: Any = self.start_date if is_date else self.start
        hi: Any = self.end_date if is_date else self.end
        f = field_name
        match self.prefix:
            case "eq":
                return Q(**{f"{f}__gte": lo, f"{f}__lt": hi})
            case "ne":
                return Q(**{f"{f}__lt": lo}) | Q(**{f"{f}__gte": hi})
            case "lt" | "eb":
                return Q(**{f"{f}__lt": lo})
            case "le":
                return Q(**{f"{f}__lt": hi})
            case "gt" | "sa":
                return Q(**{f"{f}__gte": hi})
            case _:  # ge
                return Q(**{f"{f}__gte": lo})

    def matches(self, value: str | None) -> bool:
        """For resources filtered in memory: the resource's value taken as the point it starts at."""
        if not value:
            return False
        try:
            point = parse_date_value(value, "")
        except ValueError:
            return False
        x, lo, hi = point.start, self.start, self.end
        return {
            "eq": lo <= x < hi,
            "ne": not lo <= x < hi,
            "lt": x < lo,
            "eb": x < lo,
            "le": x < hi,
            "gt": x >= hi,
            "sa": x >= hi,
            "ge": x >= lo,
        }[self.prefix]


def parse_date_value(raw: str, prefix: str = "eq") -> DateRange:
    match = _DATE.match(raw)
    if match is None:
        raise ValueError(raw)
    year, month, day, hour, _minute, second, fraction, _zone = match.groups()
    tz = timezone.get_current_timezone()
    if hour is None:
        start_date = date(int(year), int(month or 1), int(day or 1))
        if day:
            end_date = start_date + timedelta(days=1)
        elif month:
            end_date = date(start_date.year + start_date.month // 12, start_date.month % 12 + 1, 1)
        else:
            end_date = date(start_date.year + 1, 1, 1)
        start = datetime(start_date.year, start_date.month, start_date.day, tzinfo=tz)
        end = datetime(end_date.year, end_date.month, end_date.day, tzinfo=tz)
        return DateRange(prefix, start, end, start_date, end_date)
    moment = parse_datetime(raw)
    if moment is None:
        raise ValueError(raw)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, tz)
    if fraction:
        step = timedelta(microseconds=10 ** (6 - (len(fraction) - 1)))
    elif second is not None:
        step = timedelta(seconds=1)
    else:
        step = timedelta(minutes=1)
    local_day = timezone.localtime(moment, tz).date()
    return DateRange(prefix, moment, moment + step, local_day, local_day + timedelta(days=1))


def parse_token(raw: str) -> Token:
    if "|" not in raw:
        return Token(None, raw)
    system, code = raw.split("|", 1)
    return Token(system, code)


class Param:
    """One search parameter: its FHIR name and type, how it reads a value, and how it filters —
    as a queryset filter (`q`) for database-backed types or a predicate on the resource
    (`match`) for types kept in memory."""

    type = "string"

    def __init__(self, name: str, *, doc: str = "") -> None:
        self.name = name
        self.doc = doc

    def parse(self, raw: str) -> Any:
        return raw

    def q(self, value: Any) -> Q:
        raise NotImplementedError(f"{self.name} filters in memory only")

    def match(self, resource: dict[str, Any], value: Any) -> bool:
        raise NotImplementedError(f"{self.name} filters in the database only")


class TokenParam(Param):
    type = "token"

    def __init__(
        self,
        name: str,
        q: Callable[[Token], Q] | None = None,
        match: Callable[[dict[str, Any], Token], bool] | None = None,
        *,
        doc: str = "",
    ) -> None:
        super().__init__(name, doc=doc)
        self._q = q
        self._match = match

    def parse(self, raw: str) -> Token:
        return parse_token(raw)

    def q(self, value: Token) -> Q:
        assert self._q is not None, self.name
        return self._q(value)

    def match(self, resource: dict[str, Any], value: Token) -> bool:
        assert self._match is not None, self.name
        return self._match(resource, value)


class DateParam(Param):
    type = "date"

    def __init__(
        self,
        name: str,
        field_name: str = "",
        *,
        is_date: bool = False,
        get: Callable[[dict[str, Any]], str | None] | None = None,
        doc: str = "",
    ) -> None:
        super().__init__(name, doc=doc)
        self.field_name = field_name
        self.is_date = is_date
        self.get = get

    def parse(self, raw: str) -> DateRange:
        prefix = "eq"
        if raw[:2] in PREFIXES:
            prefix, raw = raw[:2], raw[2:]
        elif raw[:2].isalpha():
            raise ValueError(f"the prefix {raw[:2]!r} is not one of {', '.join(PREFIXES)}")
        return parse_date_value(raw, prefix)

    def q(self, value: DateRange) -> Q:
        return value.q(self.field_name, is_date=self.is_date)

    def match(self, resource: dict[str, Any], value: DateRange) -> bool:
        assert self.get is not None, self.name
        return value.matches(self.get(resource))


class ReferenceParam(Param):
    """A reference to one resource type: `Patient/12`, `12` or an absolute URL ending so."""

    type = "reference"

    def __init__(
        self,
        name: str,
        field_name: str = "",
        *,
        target: str = "Patient",
        get: Callable[[dict[str, Any]], str | None] | None = None,
        doc: str = "",
    ) -> None:
        super().__init__(name, doc=doc)
        self.field_name = field_name
        self.target = target
        self.get = get

    def parse(self, raw: str) -> str | None:
        """The id referred to, or None for a reference to another type (which matches nothing)."""
        text = raw.strip().rstrip("/")
        if "/" in text:
            kind, rid = text.rsplit("/", 2)[-2:]
            if kind != self.target:
                return None
            text = rid
        return text or None

    def q(self, value: str | None) -> Q:
        if value is None or not value.isdigit() or len(value) > 18:
            return NOTHING
        return Q(**{self.field_name: int(value)})

    def match(self, resource: dict[str, Any], value: str | None) -> bool:
        assert self.get is not None, self.name
        return value is not None and self.get(resource) == f"{self.target}/{value}"


class StringParam(Param):
    """Case-insensitive "starts with" on any of the fields, as FHIR's string search."""

    type = "string"

    def __init__(
        self,
        name: str,
        fields: Iterable[str] = (),
        *,
        get: Callable[[dict[str, Any]], list[str]] | None = None,
        doc: str = "",
    ) -> None:
        super().__init__(name, doc=doc)
        self.fields = tuple(fields)
        self.get = get

    def q(self, value: str) -> Q:
        found = NOTHING
        for f in self.fields:
            found |= Q(**{f"{f}__istartswith": value})
        return found

    def match(self, resource: dict[str, Any], value: str) -> bool:
        assert self.get is not None, self.name
        return any(s.lower().startswith(value.lower()) for s in self.get(resource) if s)


class UriParam(TokenParam):
    type = "uri"

    def parse(self, raw: str) -> Token:  # a URI is compared whole; the token shape carries it
        return Token(None, raw)


@dataclass
class Query:
    filters: list[tuple[Param, list[Any]]] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    offset: int = 0
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (key, descending)
    includes: list[str] = field(default_factory=list)
    total: bool = True
    echo: list[tuple[str, str]] = field(default_factory=list)  # the parameters, for the links

    def values(self, name: str) -> list[list[Any]]:
        return [values for param, values in self.filters if param.name == name]


def parse_query(
    items: Iterable[tuple[str, str]],
    params: dict[str, Param],
    sorts: Iterable[str],
    includes: Iterable[str],
) -> Query:
    """The search request, or a 400 FhirError naming every parameter it cannot honour."""
    query = Query()
    unknown: list[str] = []
    sort_keys = set(sorts)
    include_keys = set(includes)
    for name, raw in items:
        if raw == "":
            continue
        base, _, modifier = name.partition(":")
        if modifier and base in params:
            raise bad_request(f"The modifier :{modifier} of {base} is not supported.", expression=name)
        if base == "_count":
            query.count = min(_int(name, raw, 0, 10**6), MAX_COUNT)
        elif base == "_offset":
            query.offset = _int(name, raw, 0, MAX_OFFSET)
        elif base == "_sort":
            query.sort = []
            for key in raw.split(","):
                descending = key.startswith("-")
                bare = key.removeprefix("-")
                if bare not in sort_keys:
                    offered = ", ".join(sorted(sort_keys)) or "none"
                    raise bad_request(f"Cannot sort by {bare!r}; sort keys: {offered}.", expression="_sort")
                query.sort.append((bare, descending))
        elif base == "_include":
            if raw not in include_keys:
                offered = ", ".join(sorted(include_keys)) or "none"
                raise bad_request(
                    f"_include={raw} is not supported; offered: {offered}.", expression="_include"
                )
            query.includes.append(raw)
        elif base == "_total":
            if raw not in ("none", "estimate", "accurate"):
                raise bad_request("_total must be none, estimate or accurate.", expression="_total")
            query.total = raw != "none"
        elif base == "_format":
            if raw not in FORMATS:
                raise FhirError(
                    406, "not-supported", f"_format={raw} is not served; Tandem answers in FHIR JSON."
                )
        elif base == "_pretty":
            pass
        elif base in params:
            param = params[base]
            values = []
            for part in _COMMA.split(raw):
                text = part.replace("\\,", ",")
                try:
                    values.append(param.parse(text))
                except ValueError as exc:
                    detail = f": {exc}" if str(exc) != text else ""
                    raise bad_request(
                        f"{base}={text!r} is not a valid {param.type} value{detail}.", expression=base
                    ) from None
            query.filters.append((param, values))
        else:
            unknown.append(name)
            continue
        query.echo.append((name, raw))
    if unknown:
        offered = ", ".join(sorted(params))
        raise bad_request(
            f"Unknown search parameter(s): {', '.join(unknown)}. This resource type supports: {offered}.",
            expression=unknown[0],
            code="not-supported",
        )
    return query


def _int(name: str, raw: str, lo: int, hi: int) -> int:
    if not raw.isdigit() or not lo <= int(raw[:12]) <= hi:
        raise bad_request(f"{name} must be a whole number from {lo} to {hi}.", expression=name)
    return int(raw)
