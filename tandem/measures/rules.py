"""Scoring, pure: a definition and the answers by linkId → item values, total, band, sub-scores,
screens, flags and the safety rule. No database, no clock.

Nothing is guessed. A form with a required question unanswered is "not scored": its answers and
item values are kept, total and band stay empty. None of these instruments publishes a proration
rule (definitions.Scoring.prorate is always None), so none is prorated. The safety rule reads every
answer that is there, complete form or not: a "Several days" on PHQ-9 item 9 counts even when
item 4 is missing.

A 0 on PHQ-9 item 9, or no "yes" on the C-SSRS screener, does not rule out risk (clinical-facts.md
§A1: 71.6% of suicides in VA data followed a latest item 9 of "not at all"), so nothing here calls
it safe: the rule simply does not fire, and the note says that risk is not ruled out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tandem.measures.definitions import Definition, Item, Option

Sex = Literal["male", "female"]
YES = 1


class AnswerError(ValueError):
    """Answers that cannot be taken as they are. `errors` lists (linkId, message) for each one;
    `field` is the first linkId, as forms expect of action errors."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{link}: {message}" for link, message in errors))
        self.errors = errors
        self.field = errors[0][0]


@dataclass(frozen=True)
class Answer:
    """One answer as stored: the option chosen (code, system, display) and its value, or a value
    typed in, or free text."""

    value: int | None = None
    code: str = ""
    system: str = ""
    display: str = ""
    text: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in ("", None)}


@dataclass(frozen=True)
class Safety:
    """Whether this submission meets the safety rule (PHQ-9 item 9 ≥ 1, or a positive C-SSRS
    screen), with the reasons and the rule ids; `note` says what was seen when it did not fire."""

    triggered: bool
    reasons: tuple[str, ...] = ()
    rule_ids: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Score:
    instrument: str
    version: str
    answers: dict[str, Answer]
    item_values: dict[str, int]
    scored: bool
    missing: tuple[str, ...]
    total: int | None = None
    band: str = ""
    band_label: str = ""
    subscores: dict[str, int] = field(default_factory=dict)
    flags: dict[str, Any] = field(default_factory=dict)
    safety: Safety = Safety(triggered=False)


def _option_for(defn: Definition, item: Item, code: str) -> tuple[Option | None, int | None, str]:
    """(option, value, display shown) for a code, the published aliases included."""
    for option in defn.options(item):
        if option.code == code:
            return option, option.value, option.display
    for alias in defn.aliases(item):
        if alias.code == code:
            return None, alias.value, alias.shown_as
    return None, None, ""


def resolve(defn: Definition, raw: Mapping[str, Any]) -> dict[str, Answer]:
    """Each submitted answer checked against its item; AnswerError lists every bad one.
    Empty answers (None or "") are left out: they are unanswered, not zero."""
    errors: list[tuple[str, str]] = []
    answers: dict[str, Answer] = {}
    for link_id, given in raw.items():
        if given is None or given == "":
            continue
        if not defn.has_item(link_id):
            errors.append((link_id, f"is not a question of the {defn.short_name}"))
            continue
        item = defn.item(link_id)
        try:
            answers[link_id] = _resolve_one(defn, item, given)
        except ValueError as exc:
            errors.append((link_id, str(exc)))
    if errors:
        raise AnswerError(errors)
    return answers


def _resolve_one(defn: Definition, item: Item, given: Any) -> Answer:
    if item.type == "choice":
        code = str(given).strip()
        option, value, display = _option_for(defn, item, code)
        if option is None and value is None and not display:
            raise ValueError(f"{code!r} is not one of the answers to this question")
        system = option.system if option else next(a.system for a in defn.aliases(item) if a.code == code)
        return Answer(value=value, code=code, system=system, display=display)
    if item.type == "integer":
        text = str(given).strip()
        if isinstance(given, bool) or not text.lstrip("-").isdigit():
            raise ValueError(f"must be a whole number from {item.min} to {item.max}")
        value = int(text)
        assert item.min is not None and item.max is not None
        if not item.min <= value <= item.max:
            raise ValueError(f"must be a whole number from {item.min} to {item.max}")
        return Answer(value=value)
    text = str(given).strip()
    if item.max_length and len(text) > item.max_length:
        raise ValueError(f"is longer than {item.max_length} characters")
    return Answer(text=text)


def is_asked(defn: Definition, item: Item, values: Mapping[str, int]) -> bool:
    """Skip logic: an item with enableWhen is asked only when the earlier answer matches."""
    if item.enable_when is None:
        return True
    return values.get(item.enable_when.link_id) == item.enable_when.value


def score(defn: Definition, raw: Mapping[str, Any], *, sex: Sex | None = None) -> Score:
    """Score one administration. Raises AnswerError for answers the instrument does not have."""
    answers = resolve(defn, raw)
    return score_answers(defn, answers, sex=sex)


def score_answers(defn: Definition, answers: Mapping[str, Answer], *, sex: Sex | None = None) -> Score:
    values = {link: a.value for link, a in answers.items() if a.value is not None and defn.item(link).scored}
    missing = tuple(
        i.link_id for i in defn.items if i.required and i.link_id not in answers and is_asked(defn, i, values)
    )
    method = defn.scoring.method
    result: dict[str, Any] = {
        "instrument": defn.id,
        "version": defn.version,
        "answers": dict(answers),
        "item_values": values,
        "missing": missing,
        "scored": not missing and method != "none",
        "safety": safety(defn, values),
    }
    flags: dict[str, Any] = {}
    if method == "risk_level":
        result |= _risk_level(defn, values, complete=not missing, flags=flags)
    elif result["scored"]:
        total = _total(defn, values)
        band = _band(defn, total if method == "sum" else values[str(defn.scoring.item)], sex)
        result |= {
            "total": total,
            "band": band[0],
            "band_label": band[1],
            "subscores": _subscores(defn, values, total),
        }
        flags |= _flags(defn, values, total, sex)
    else:
        result["subscores"] = _subscores(defn, values, None)
    if "/44260-8" in defn.scoring.items:
        flags["item9"] = values.get("/44260-8")
    if missing:
        flags["not_scored"] = "required questions unanswered: " + ", ".join(_numbers(defn, missing))
    result["flags"] = flags
    return Score(**result)


def _numbers(defn: Definition, link_ids: tuple[str, ...]) -> list[str]:
    return [f"question {defn.item(link).number}" for link in link_ids]


def _total(defn: Definition, values: Mapping[str, int]) -> int | None:
    if defn.scoring.method == "sum":
        return sum(values[link] for link in defn.scoring.items)
    return None  # decision_item: the published instrument has no total


def _band(defn: Definition, number: int | None, sex: Sex | None) -> tuple[str, str]:
    if number is None:
        return "", ""
    for band in defn.bands_for(sex):
        if band.min <= number <= band.max:
            return band.key, band.label
    raise AssertionError(f"{defn.id}: {number} is in no band; the definition check should have caught it")


def _subscores(defn: Definition, values: Mapping[str, int], total: int | None) -> dict[str, int]:
    found: dict[str, int] = {}
    for sub in defn.subscores:
        if sub.multiply_total is not None:
            if total is not None:
                found[sub.id] = total * sub.multiply_total
        elif all(link in values for link in sub.items):
            found[sub.id] = sum(values[link] for link in sub.items)
    return found


def _flags(defn: Definition, values: Mapping[str, int], total: int | None, sex: Sex | None) -> dict[str, Any]:
    flags: dict[str, Any] = {}
    if defn.screen is not None and total is not None:
        positive = total >= defn.screen.positive_from
        flags["positive_screen"] = positive
        if positive and defn.screen.then:
            flags["next"] = defn.screen.then
    if defn.bands_by_sex is not None:
        flags["sex"] = sex or "not recorded"
        note = defn.q1_only_note
        if note is not None and total and values.get(note.link_id) == total:
            flags["q1_only"] = note.label
    if defn.diagnostic is not None:
        flags["depressive_syndrome"] = _syndrome(defn, values)
    return flags


def _syndrome(defn: Definition, values: Mapping[str, int]) -> str:
    """The PHQ-9 diagnostic algorithm (CamCOPS): separate from the severity total."""
    rule = defn.diagnostic
    assert rule is not None
    counted = [
        link for link, value in values.items() if value >= rule.special.get(link, rule.count_if_at_least)
    ]
    core = any(link in counted for link in rule.core_items)
    if core and len(counted) >= 5:
        return "major depressive syndrome"
    if core and 2 <= len(counted) <= 4:
        return "other depressive syndrome"
    return "criteria not met"


def _risk_level(
    defn: Definition, values: Mapping[str, int], *, complete: bool, flags: dict[str, Any]
) -> dict[str, Any]:
    """C-SSRS screener: the first risk level with a yes among its items. Every yes counts, even
    on a question the skip logic would not have asked (it is recorded as such)."""
    skipped = [
        link
        for link in values
        if defn.item(link).enable_when is not None and not is_asked(defn, defn.item(link), values)
    ]
    if skipped:
        flags["answered_though_skipped"] = skipped
    yes = {link for link, value in values.items() if value == YES}
    flags["yes"] = [i.link_id for i in defn.items if i.link_id in yes]
    for level in defn.risk_levels:
        if yes & set(level.any_yes):
            flags["level_confidence"] = level.confidence
            flags["level_source"] = level.source
            if not complete:
                # Not scored; unanswered questions might raise the level further.
                flags["at_least"] = level.key
                flags["at_least_label"] = f"at least {level.label} (questions unanswered)"
                return {}
            return {"band": level.key, "band_label": level.label}
    if not complete:
        return {}
    assert defn.no_yes_band is not None
    return {"band": defn.no_yes_band.key, "band_label": defn.no_yes_band.label}


def safety(defn: Definition, values: Mapping[str, int]) -> Safety:
    reasons: list[str] = []
    rule_ids: list[str] = []
    notes: list[str] = []
    for rule in defn.safety:
        if rule.rule == "item_at_least":
            assert rule.link_id is not None and rule.min is not None
            value = values.get(rule.link_id)
            item = defn.item(rule.link_id)
            if value is not None and value >= rule.min:
                display = next((o.display for o in defn.options(item) if o.value == value), str(value))
                reasons.append(rule.reason.format(display=display, value=value))
                rule_ids.append(rule.id)
            elif value is None:
                notes.append(f"Question {item.number} was not answered; risk is not ruled out.")
            else:
                notes.append(f"Question {item.number} was answered {value}; this does not rule out risk.")
        else:
            yes = [i for i in defn.items if values.get(i.link_id) == YES]
            if yes:
                level = next(lv for lv in defn.risk_levels if {i.link_id for i in yes} & set(lv.any_yes))
                names = ", ".join(f"question {i.number} ({i.concept})" for i in yes)
                reasons.append(rule.reason.format(items=names, level=level.label))
                rule_ids.append(rule.id)
            else:
                notes.append("No question was answered yes; this does not rule out risk.")
    return Safety(
        triggered=bool(reasons), reasons=tuple(reasons), rule_ids=tuple(rule_ids), note=" ".join(notes)
    )
