"""Properties that hold for every summed instrument: the total is the sum of the item values,
the band never goes down as the total goes up, and a missing required item means not scored."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tandem.measures.definitions import Definition, get, registry
from tandem.measures.rules import score
from tandem.measures.tests.helpers import answers

SUMMED = sorted(d.id for d in registry().values() if d.scoring.method == "sum")
SCORED = sorted(d.id for d in registry().values() if d.scoring.method in ("sum", "decision_item"))


def _complete(defn: Definition) -> st.SearchStrategy[dict[str, int]]:
    fields = {}
    for link in defn.scoring.items:
        lo, hi = defn.item_range(defn.item(link))  # type: ignore[misc]
        fields[link] = st.integers(lo, hi)
    return st.fixed_dictionaries(fields)


def _band_index(defn: Definition, band: str, sex: str | None = None) -> int:
    return [b.key for b in defn.bands_for(sex)].index(band)


@pytest.mark.parametrize("instrument", SUMMED)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_the_total_is_the_sum_of_the_item_values(instrument, data):
    defn = get(instrument)
    values = data.draw(_complete(defn))
    result = score(defn, answers(defn, values))
    assert result.scored
    assert result.item_values == values
    assert result.total == sum(values.values())


@pytest.mark.parametrize("instrument", SUMMED)
@settings(max_examples=60, deadline=None)
@given(data=st.data(), sex=st.sampled_from(["male", "female", None]))
def test_the_band_is_monotone_in_the_total(instrument, data, sex):
    defn = get(instrument)
    first = score(defn, answers(defn, data.draw(_complete(defn))), sex=sex)
    second = score(defn, answers(defn, data.draw(_complete(defn))), sex=sex)
    assert first.total is not None and second.total is not None
    low, high = (first, second) if first.total <= second.total else (second, first)
    assert _band_index(defn, low.band, sex) <= _band_index(defn, high.band, sex)


@pytest.mark.parametrize("instrument", SCORED)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_missing_required_item_means_not_scored(instrument, data):
    defn = get(instrument)
    values = data.draw(_complete(defn))
    dropped = data.draw(st.lists(st.sampled_from(sorted(values)), min_size=1, unique=True))
    result = score(defn, answers(defn, {k: v for k, v in values.items() if k not in dropped}))
    assert not result.scored
    assert result.total is None and result.band == ""
    assert set(result.missing) == set(dropped)


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.integers(0, 3), min_size=9, max_size=9))
def test_phq9_safety_fires_exactly_when_item9_is_1_or_more(values):
    result = score(get("phq-9"), answers("phq-9", values))
    assert result.safety.triggered is (values[8] >= 1)


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.integers(0, 3), min_size=2, max_size=2))
def test_phq2_is_positive_exactly_from_3(values):
    result = score(get("phq-2"), answers("phq-2", values))
    assert result.flags["positive_screen"] is (sum(values) >= 3)
