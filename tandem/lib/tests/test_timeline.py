from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tandem.lib import timeline
from tandem.lib.timeline import Registry, TimelineEvent, TimelineSource, collect, kinds_for
from tandem.patients.access import PatientGrant
from tandem.patients.models import ALL_CATEGORIES, Category, Patient

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class ListSource(TimelineSource):
    """Events from a list, answered like a database would (newest first, strictly before)."""

    def __init__(self, kind: str, minutes: list[int], category: str | None = None, label: str = "") -> None:
        self.kind, self.label, self.category = kind, label or kind, category
        self.all = [
            TimelineEvent(at=T0 + timedelta(minutes=m), kind=kind, title=f"{kind} #{i}")
            for i, m in enumerate(minutes)
        ]
        self.calls = 0

    def events(self, patient, before, limit):
        self.calls += 1
        rows = [e for e in self.all if before is None or e.at < before]
        return sorted(rows, key=lambda e: e.at, reverse=True)[:limit]


def grant(categories=ALL_CATEGORIES, basis="care_team") -> PatientGrant:
    return PatientGrant(Patient(pk=1), basis, "therapist", frozenset(categories), can_manage=True)


def walk(sources, limit, g=None, kinds=None) -> tuple[list[TimelineEvent], int]:
    g = g or grant()
    seen: list[TimelineEvent] = []
    before, pages = None, 0
    while True:
        page = collect(g.patient, g, kinds, before, limit, sources=sources)
        pages += 1
        assert [e.at for e in page.events] == sorted((e.at for e in page.events), reverse=True)
        seen.extend(page.events)
        if page.next_before is None:
            return seen, pages
        assert page.events, "a page with a next cursor must show something"
        before = page.next_before
        assert pages < 1000


def test_it_merges_the_sources_newest_first():
    a = ListSource("a", [1, 5, 9])
    b = ListSource("b", [2, 3, 10])
    page = collect(Patient(pk=1), grant(), None, None, 10, sources=[a, b])
    assert [e.title for e in page.events] == ["b #2", "a #2", "a #1", "b #1", "b #0", "a #0"]
    assert page.next_before is None


def test_it_pages_by_cursor_and_shows_every_event_once():
    a = ListSource("a", list(range(0, 40, 2)))
    b = ListSource("b", list(range(1, 40, 3)))
    seen, pages = walk([a, b], limit=7)
    assert Counter(e.title for e in seen) == Counter(e.title for e in a.all + b.all)
    assert pages > 3


def test_events_of_one_instant_are_not_split_across_pages():
    a = ListSource("a", [10, 10])
    b = ListSource("b", [10, 4])
    c = ListSource("c", [11])
    first = collect(Patient(pk=1), grant(), None, None, 3, sources=[a, b, c])
    assert [e.title for e in first.events] == ["c #0"]  # the three events of minute 10 did not fit
    second = collect(Patient(pk=1), grant(), None, first.next_before, 3, sources=[a, b, c])
    assert sorted(e.title for e in second.events) == ["a #0", "a #1", "b #0"]
    third = collect(Patient(pk=1), grant(), None, second.next_before, 3, sources=[a, b, c])
    assert [e.title for e in third.events] == ["b #1"]
    assert third.next_before is None


def test_a_source_the_grant_does_not_allow_is_never_asked():
    plan = ListSource("plan", [1, 2], category=Category.PLAN)
    record = ListSource("team", [3])
    consented = grant({Category.MEDICATIONS})
    page = collect(Patient(pk=1), consented, None, None, 10, sources=[plan, record])
    assert [e.kind for e in page.events] == ["team"]
    assert plan.calls == 0
    assert kinds_for(consented, [plan, record]) == {"team": "team"}


def test_only_the_chosen_kinds_are_asked():
    a, b = ListSource("a", [1]), ListSource("b", [2])
    page = collect(Patient(pk=1), grant(), ["b"], None, 10, sources=[a, b])
    assert [e.kind for e in page.events] == ["b"]
    assert a.calls == 0


def test_an_empty_timeline_has_no_next_page():
    page = collect(Patient(pk=1), grant(), None, None, 5, sources=[ListSource("a", [])])
    assert page.events == [] and page.next_before is None


@settings(max_examples=150, deadline=None)
@given(
    minutes=st.lists(st.lists(st.integers(0, 30), max_size=25), min_size=1, max_size=4),
    limit=st.integers(1, 12),
)
def test_walking_every_page_shows_each_event_exactly_once(minutes, limit):
    sources = [ListSource(f"k{i}", m) for i, m in enumerate(minutes)]
    everything = [e for s in sources for e in s.all]
    per_instant = Counter(e.at for e in everything)
    seen, _ = walk(sources, limit)
    assert len(seen) == len(set(seen))  # never twice
    if max(per_instant.values(), default=0) <= limit:
        assert Counter(seen) == Counter(everything)  # nothing lost


def test_the_registry_refuses_one_kind_with_two_labels():
    registry = Registry()
    registry.register(ListSource("a", [], label="A"))

    class Other(ListSource):
        pass

    with pytest.raises(ValueError, match="another label"):
        registry.register(Other("a", [], label="Not A"))


def test_registering_the_same_source_class_twice_keeps_one():
    registry = Registry()
    registry.register(ListSource("a", []))
    registry.register(ListSource("a", []))
    assert len(registry._sources) == 1


def test_each_app_adds_its_sources_in_installed_apps_order():
    kinds = list(kinds_for(grant()))
    assert kinds[:3] == ["care_team", "consent", "break_glass"]
    assert {"plan_revision", "plan_status", "plan_proposal", "plan_patient", "safety_plan"} <= set(kinds)
    # Progress notes are; psychotherapy notes are never a source (tandem/notes/tests guards them).
    assert {k for k in kinds if "note" in k} == {"progress_note"}
    assert not any("psychotherapy" in k or "private" in k for k in kinds)


def test_a_consent_for_medications_shows_the_record_kinds_but_no_plan_kinds():
    kinds = kinds_for(grant({Category.MEDICATIONS, Category.MEASURES}, basis="consent"))
    assert set(kinds) == {"care_team", "consent", "break_glass", "side_effect", "medication", "lab"}


def test_every_registered_source_states_a_known_category():
    for source in timeline.registry.sources():
        assert source.category is None or source.category in ALL_CATEGORIES
        assert source.kind and source.label
