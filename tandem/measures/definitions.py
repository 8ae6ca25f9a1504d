"""Instrument definitions as data: one JSON file per instrument in data/, each citing its sources.

The files are parsed into frozen pydantic models that refuse unknown keys, then checked as a whole
(`check`): unique linkIds, every choice answerable, scoring ranges equal to what the items can
add up to, severity bands that tile the range without gaps or overlaps, LOINC term codes with a
valid check digit, safety rules and follow-ups that point at real items and instruments. A bad
definition raises DefinitionError when the registry is first built — at start-up (apps.py) and in
the tests — never halfway through scoring a patient's answers.

The visit-feedback instrument belongs to the feedback app (tandem/feedback/data/visit_feedback.json);
it is read from there, so the two apps can never disagree about it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from functools import cache, cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DATA = Path(__file__).parent / "data"
VISIT_FEEDBACK = Path(__file__).resolve().parent.parent / "feedback" / "data" / "visit_feedback.json"
LOINC = "http://loinc.org"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
CANONICAL = "urn:tandem:questionnaire:{id}"

Fail = Callable[[str], NoReturn]
Wording = Literal["verbatim", "own", "loinc_names", "placeholder"]
# Wording a patient can answer alone in the portal; placeholders need the official form in hand.
SELF_ADMINISTRABLE: frozenset[str] = frozenset({"verbatim", "own", "loinc_names"})


class DefinitionError(ValueError):
    """A definition file is wrong; the message names the file and the problem."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Model):
    code: str
    system: str
    display: str
    value: int | None


class Alias(_Model):
    """A code some published form uses for an option, accepted as that option's value."""

    code: str
    system: str
    display: str
    shown_as: str
    value: int
    link_ids: tuple[str, ...]
    source: str


class AnswerList(_Model):
    value_set: str = ""
    options: tuple[Option, ...]
    aliases: tuple[Alias, ...] = ()
    never: tuple[str, ...] = ()  # displays that must never appear (published reproduction errors)
    note: str = ""


class EnableWhen(_Model):
    link_id: str = Field(alias="linkId")
    value: int


class Item(_Model):
    link_id: str = Field(alias="linkId")
    number: int | str
    loinc: str | None = None
    text: str
    type: Literal["choice", "integer", "text"]
    required: bool
    scored: bool
    answer_list: str | None = None
    options: tuple[Option, ...] = ()
    min: int | None = None
    max: int | None = None
    anchors: dict[str, str] = Field(default_factory=dict)
    max_length: int | None = None
    enable_when: EnableWhen | None = None
    concept: str = Field(default="", alias="construct")
    note: str = ""
    short: str = ""


class Band(_Model):
    key: Annotated[str, Field(pattern=r"^[a-z0-9-]{1,40}$")]
    min: int
    max: int
    label: str
    source: str
    confidence: str = "✔"


class Scoring(_Model):
    method: Literal["sum", "decision_item", "risk_level", "none"]
    items: tuple[str, ...] = ()
    item: str | None = None  # decision_item: the item that decides
    min: int | None = None
    max: int | None = None
    prorate: None = None  # no instrument here defines proration; a value would need code and a source
    missing_items: str
    source: str


class Screen(_Model):
    positive_from: int
    label: str
    source: str
    then: str | None = None  # the instrument due at once after a positive screen


class Subscore(_Model):
    id: str
    label: str
    items: tuple[str, ...] = ()
    multiply_total: int | None = None
    source: str


class Diagnostic(_Model):
    core_items: tuple[str, ...]
    count_if_at_least: int
    special: dict[str, int]
    source: str


class SafetyRule(_Model):
    id: str
    rule: Literal["item_at_least", "any_yes"]
    link_id: str | None = Field(default=None, alias="linkId")
    min: int | None = None
    reason: str
    source: str


class RiskLevel(_Model):
    key: str
    label: str
    any_yes: tuple[str, ...]
    source: str
    confidence: str


class NoYesBand(_Model):
    key: str
    label: str


class Q1OnlyNote(_Model):
    link_id: str = Field(alias="linkId")
    label: str
    source: str


class Definition(_Model):
    id: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    version: str
    plan_key: str | None = None
    short_name: str
    name: str
    domain: str = ""
    lookback: str = ""
    stem: str = ""
    wording: Wording
    wording_note: str
    licence: str
    higher_is_better: bool = False
    loinc_panel: str | None
    loinc_panel_confidence: str = ""
    loinc_total: dict[str, str] | None
    loinc_result: dict[str, str] | None = None
    loinc_note: str = ""
    computed_link_ids: tuple[str, ...] = ()
    answer_lists: dict[str, AnswerList] = Field(default_factory=dict)
    items: tuple[Item, ...]
    scoring: Scoring
    bands: tuple[Band, ...] = ()
    bands_by_sex: dict[Literal["male", "female", "unknown"], tuple[Band, ...]] | None = None
    screen: Screen | None = None
    subscores: tuple[Subscore, ...] = ()
    diagnostic: Diagnostic | None = None
    safety: tuple[SafetyRule, ...] = ()
    risk_levels: tuple[RiskLevel, ...] = ()
    no_yes_band: NoYesBand | None = None
    q1_only_note: Q1OnlyNote | None = None
    sources: tuple[str, ...] = Field(min_length=1)

    @cached_property
    def by_link(self) -> dict[str, Item]:
        """Items by linkId (an ordinary attribute once computed: scoring asks for every answer,
        and pydantic's private attributes are slow to read)."""
        return {i.link_id: i for i in self.items}

    def item(self, link_id: str) -> Item:
        return self.by_link[link_id]

    def has_item(self, link_id: str) -> bool:
        return link_id in self.by_link

    def options(self, item: Item) -> tuple[Option, ...]:
        if item.answer_list:
            return self.answer_lists[item.answer_list].options
        return item.options

    def aliases(self, item: Item) -> tuple[Alias, ...]:
        if not item.answer_list:
            return ()
        return tuple(a for a in self.answer_lists[item.answer_list].aliases if item.link_id in a.link_ids)

    def item_range(self, item: Item) -> tuple[int, int] | None:
        if item.type == "integer":
            assert item.min is not None and item.max is not None
            return item.min, item.max
        if item.type == "choice":
            values = [o.value for o in self.options(item) if o.value is not None]
            return (min(values), max(values)) if values else None
        return None

    @property
    def canonical(self) -> str:
        return CANONICAL.format(id=self.id)

    @property
    def self_administrable(self) -> bool:
        return self.wording in SELF_ADMINISTRABLE

    def bands_for(self, sex: str | None) -> tuple[Band, ...]:
        if self.bands_by_sex is not None:
            key: Literal["male", "female", "unknown"] = sex if sex in ("male", "female") else "unknown"  # type: ignore[assignment]
            return self.bands_by_sex[key]
        return self.bands


def loinc_check_digit_ok(code: str) -> bool:
    """LOINC's mod-10 check digit (the Luhn algorithm over the digits before the dash)."""
    match = re.fullmatch(r"(\d{1,7})-(\d)", code)
    if not match:
        return False
    digits = [int(d) for d in match.group(1)]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 0:
            digit *= 2
            digit = digit // 10 + digit % 10
        total += digit
    return (10 - total % 10) % 10 == int(match.group(2))


def check(defn: Definition, known_ids: Iterable[str] = ()) -> None:
    """Every cross-field rule a definition must keep; raises DefinitionError naming the first broken one."""
    where = defn.id

    def fail(message: str) -> NoReturn:
        raise DefinitionError(f"{where}: {message}")

    link_ids = [i.link_id for i in defn.items]
    if len(link_ids) != len(set(link_ids)):
        fail("two items share a linkId")
    codes = [c for c in (defn.loinc_panel, (defn.loinc_total or {}).get("code")) if c]
    codes += [i.loinc for i in defn.items if i.loinc]
    for code in codes:
        if not loinc_check_digit_ok(code):
            fail(f"LOINC code {code} fails its check digit")
    seen: list[str] = []
    for item in defn.items:
        _check_item(defn, item, seen, fail)
        seen.append(item.link_id)
    for name, answer_list in defn.answer_lists.items():
        displays = {o.display for o in answer_list.options}
        if displays & set(answer_list.never):
            fail(f"answer list {name} uses a display it must never use")
        own = {o.code for o in answer_list.options}
        for alias in answer_list.aliases:
            if alias.code in own:
                fail(f"alias {alias.code} is already an option of {name}")
            if alias.value not in {o.value for o in answer_list.options}:
                fail(f"alias {alias.code} has a value no option of {name} has")
            if not set(alias.link_ids) <= set(link_ids):
                fail(f"alias {alias.code} names an item that does not exist")
    _check_scoring(defn, fail)
    for rule in defn.safety:
        if rule.rule == "item_at_least" and (rule.link_id not in link_ids or rule.min is None):
            fail(f"safety rule {rule.id} needs an existing item and a minimum")
        if rule.rule == "any_yes" and not defn.risk_levels:
            fail(f"safety rule {rule.id} needs risk levels")
    if defn.screen and defn.screen.then and defn.screen.then not in set(known_ids):
        fail(f"a positive screen leads to {defn.screen.then}, which is not defined")
    for sub in defn.subscores:
        if not set(sub.items) <= set(link_ids):
            fail(f"subscore {sub.id} names an item that does not exist")


def _check_item(defn: Definition, item: Item, earlier: list[str], fail: Fail) -> None:
    if item.type == "choice":
        if bool(item.answer_list) == bool(item.options):
            fail(f"item {item.link_id} needs either an answer list or its own options")
        if item.answer_list and item.answer_list not in defn.answer_lists:
            fail(f"item {item.link_id} uses answer list {item.answer_list}, which is not defined")
        options = defn.options(item)
        if len({o.code for o in options}) != len(options):
            fail(f"item {item.link_id} has two options with one code")
        values = [o.value for o in options if o.value is not None]
        if item.scored and (len(values) != len(options) or len(set(values)) != len(values)):
            fail(f"scored item {item.link_id} needs a distinct value on every option")
    elif item.type == "integer":
        if item.min is None or item.max is None or item.min > item.max:
            fail(f"integer item {item.link_id} needs min <= max")
    elif item.scored:
        fail(f"text item {item.link_id} cannot be scored")
    if item.enable_when is not None and item.enable_when.link_id not in earlier:
        fail(f"item {item.link_id} depends on {item.enable_when.link_id}, which is not an earlier item")


def _check_scoring(defn: Definition, fail: Fail) -> None:
    scoring = defn.scoring
    scored = {i.link_id for i in defn.items if i.scored}
    if set(scoring.items) != scored:
        fail("the scoring items must be exactly the scored items")
    if scoring.method == "sum":
        lo = hi = 0
        for link_id in scoring.items:
            span = defn.item_range(defn.item(link_id))
            assert span is not None
            lo, hi = lo + span[0], hi + span[1]
        if (scoring.min, scoring.max) != (lo, hi):
            fail(f"scoring range {scoring.min}–{scoring.max} is not what the items add up to ({lo}–{hi})")
    elif scoring.method == "decision_item":
        if scoring.item not in scored:
            fail("the deciding item must be a scored item")
        span = defn.item_range(defn.item(str(scoring.item)))
        if span != (scoring.min, scoring.max):
            fail("the decision range must be the deciding item's range")
    elif scoring.method == "risk_level":
        named = {link for level in defn.risk_levels for link in level.any_yes}
        if not defn.risk_levels or not named <= scored or defn.no_yes_band is None:
            fail("risk levels must name scored items and say what no yes means")
        return
    else:
        if scored or defn.bands:
            fail("an unscored instrument has no scored items and no bands")
        return
    band_sets = list(defn.bands_by_sex.values()) if defn.bands_by_sex else [defn.bands]
    for bands in band_sets:
        _check_bands(bands, scoring.min, scoring.max, fail)


def _check_bands(bands: tuple[Band, ...], lo: int | None, hi: int | None, fail: Fail) -> None:
    """Bands must tile lo..hi: in order, no gap, no overlap."""
    if not bands:
        fail("a scored instrument needs bands")
    if lo is None:
        fail("a scored instrument needs a minimum")
    expected = lo
    for band in bands:
        if band.min != expected or band.max < band.min:
            fail(f"band {band.label!r} starts at {band.min}, expected {expected}")
        expected = band.max + 1
    if hi is None or expected != hi + 1:
        fail(f"the bands end at {expected - 1}, not at the maximum {hi}")


def parse(raw: dict[str, Any], *, origin: str = "") -> Definition:
    try:
        return Definition.model_validate(raw)
    except ValidationError as exc:
        raise DefinitionError(f"{origin or raw.get('id', '?')}: {exc}") from exc


def visit_feedback_definition(path: Path = VISIT_FEEDBACK) -> Definition | None:
    """The feedback app's visit-feedback instrument as a definition (not scored here: its ratings
    and alerts are the feedback app's), or None when that file is absent."""
    if not path.exists():
        return None
    raw = json.loads(path.read_text(encoding="utf-8"))
    items = []
    for n, row in enumerate(raw["items"], 1):
        item: dict[str, Any] = {
            "linkId": row["linkId"],
            "number": n,
            "text": row["text"],
            "short": row.get("short", ""),
            "type": row["type"],
            "required": bool(row.get("required", False)),
            "scored": False,
        }
        if row["type"] == "integer":
            item |= {"min": row["min"], "max": row["max"], "anchors": row.get("anchors", {})}
        elif row.get("maxLength"):
            item["max_length"] = row["maxLength"]
        items.append(item)
    return parse(
        {
            "id": raw["id"],
            "version": raw["version"],
            "short_name": raw["title"],
            "name": raw["title"],
            "domain": "visit feedback",
            "wording": "own",
            "wording_note": raw.get("description", ""),
            "licence": raw.get("publisher", ""),
            "loinc_panel": None,
            "loinc_total": None,
            "items": items,
            "scoring": {
                "method": "none",
                "missing_items": "Not scored here: the feedback app reads the ratings.",
                "source": "tandem/feedback/data/visit_feedback.json",
            },
            "sources": [
                raw.get("modelled_on", {}).get("citation", "tandem/feedback/data/visit_feedback.json")
            ],
        },
        origin=str(path),
    )


def load(directory: Path = DATA, *, include_feedback: bool = True) -> dict[str, Definition]:
    """Every definition, checked; DefinitionError on the first bad one."""
    found: dict[str, Definition] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DefinitionError(f"{path.name}: not valid JSON ({exc})") from exc
        defn = parse(raw, origin=path.name)
        if defn.id in found or f"{defn.id}.json" != path.name:
            raise DefinitionError(f"{path.name}: the id must be unique and match the file name")
        found[defn.id] = defn
    if include_feedback:
        feedback = visit_feedback_definition()
        if feedback is not None:
            found[feedback.id] = feedback
    for defn in found.values():
        check(defn, known_ids=found)
    plan_keys = [d.plan_key for d in found.values() if d.plan_key]
    if len(plan_keys) != len(set(plan_keys)):
        raise DefinitionError("two instruments share a plan key")
    return found


@cache
def registry() -> dict[str, Definition]:
    return load()


def get(instrument_id: str) -> Definition:
    """The definition, or KeyError for an id no definition has."""
    return registry()[instrument_id]


def by_plan_key(plan_key: str) -> Definition | None:
    return next((d for d in registry().values() if d.plan_key == plan_key), None)
