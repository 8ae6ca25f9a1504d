"""The patient timeline: one registry of event sources that each app adds to.

An app adds events to the timeline by writing `<app>/timeline.py` that calls `register()` for
each of its sources; the modules are imported on first use, in INSTALLED_APPS order (as
tandem.core.seeding finds demo builders). A source answers one question with ONE query: "your
newest `limit` events strictly before `before`". `collect()` asks every source the viewer's
grant allows, merges the answers newest first and cuts one page, so a timeline page costs one
query per source whatever the number of events.

Each source names the consent category needed to see it (tandem.patients.models.Category), or
None for the record itself (care team, consents, emergency access), which any basis of access
to the patient shows.

Psychotherapy notes are never a timeline source, not even as "a note was written": they are
readable by their author alone, and the timeline is shown to the whole team.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db.models import Model, QuerySet
from django.utils.module_loading import module_has_submodule

if TYPE_CHECKING:
    from tandem.patients.access import PatientGrant
    from tandem.patients.models import Patient


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime  # aware
    kind: str
    title: str
    detail: str = ""
    actor: str = ""  # who did it, as people read it; "" when the record does not say
    link: str = ""


class TimelineSource(ABC):
    """One kind of event from one table. Several sources may share a kind (and then share its
    label and category): "care team" events come from joins and from leaves."""

    kind: str
    label: str
    category: str | None

    @abstractmethod
    def events(self, patient: Patient, before: datetime | None, limit: int) -> list[TimelineEvent]:
        """The newest `limit` events of the patient strictly before `before` (all when None),
        newest first, with ONE query. Fewer than `limit` means there are no more."""


class QuerySource(TimelineSource):
    """A source over one queryset and one timestamp column: most sources are this."""

    timestamp: str = "created_at"

    @abstractmethod
    def queryset(self, patient: Patient) -> QuerySet[Any]: ...

    @abstractmethod
    def event(self, row: Any) -> TimelineEvent: ...

    def events(self, patient: Patient, before: datetime | None, limit: int) -> list[TimelineEvent]:
        rows = self.queryset(patient)
        if before is not None:
            rows = rows.filter(**{f"{self.timestamp}__lt": before})
        rows = rows.filter(**{f"{self.timestamp}__isnull": False})
        return [self.event(row) for row in rows.order_by(f"-{self.timestamp}", "-pk")[:limit]]


def display_name(user: Model | None) -> str:
    return str(getattr(user, "display_name", "")) if user is not None else ""


class Registry:
    def __init__(self) -> None:
        self._sources: list[TimelineSource] = []
        self._discovered = False

    def register(self, source: TimelineSource) -> TimelineSource:
        """Add a source (once per class). Sources of one kind must agree on label and category."""
        for known in self._sources:
            if type(known) is type(source):
                return known
            if known.kind == source.kind and (known.label, known.category) != (source.label, source.category):
                raise ValueError(
                    f"timeline kind {source.kind!r} is registered with another label or category"
                )
        self._sources.append(source)
        return source

    def sources(self) -> list[TimelineSource]:
        if not self._discovered:
            for config in apps.get_app_configs():
                if config.name.startswith("tandem.") and module_has_submodule(config.module, "timeline"):
                    importlib.import_module(f"{config.name}.timeline")
            self._discovered = True
        return list(self._sources)


registry = Registry()
register = registry.register


def visible_sources(
    grant: PatientGrant, sources: Iterable[TimelineSource] | None = None
) -> list[TimelineSource]:
    from tandem.patients.access import RECORD

    chosen = registry.sources() if sources is None else list(sources)
    return [s for s in chosen if grant.allows(s.category or RECORD)]


def kinds_for(grant: PatientGrant, sources: Iterable[TimelineSource] | None = None) -> dict[str, str]:
    """kind → label of every kind the grant may see, in registration order."""
    kinds: dict[str, str] = {}
    for source in visible_sources(grant, sources):
        kinds.setdefault(source.kind, source.label)
    return kinds


@dataclass(frozen=True)
class TimelinePage:
    events: list[TimelineEvent]
    next_before: datetime | None  # the cursor of the next (older) page; None on the last page


def collect(
    patient: Patient,
    grant: PatientGrant,
    kinds: Iterable[str] | None,
    before: datetime | None,
    limit: int,
    *,
    sources: Iterable[TimelineSource] | None = None,
) -> TimelinePage:
    """One page of the patient's timeline, newest first: the events of the sources the grant
    may see (only `kinds` when given) strictly before `before`.

    Events of one instant are never split across two pages, so a cursor that is a bare time
    loses nothing (unless more than `limit` events share one instant).
    """
    assert limit >= 1
    wanted = set(kinds) if kinds is not None else None
    fetched: list[TimelineEvent] = []
    # Events at or before `floor` may be missing: a source that filled its request may have more.
    floor: datetime | None = None
    for source in visible_sources(grant, sources):
        if wanted is not None and source.kind not in wanted:
            continue
        # One more than a page, to tell "exactly a page" from "more to come".
        events = source.events(patient, before, limit + 1)
        fetched.extend(events)
        if len(events) > limit:
            oldest = min(e.at for e in events)
            floor = oldest if floor is None else max(floor, oldest)
    fetched.sort(key=lambda e: e.at, reverse=True)
    complete = fetched if floor is None else [e for e in fetched if e.at > floor]
    more = floor is not None or len(complete) > limit
    page = complete[:limit]
    if len(complete) > limit:
        boundary = complete[limit].at
        page = [e for e in page if e.at > boundary] or page
    if not page and more:
        page = fetched[:limit]  # one source has more than `limit` events at a single instant
    return TimelinePage(page, page[-1].at if more and page else None)
