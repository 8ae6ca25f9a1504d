"""The drug catalogue: facts about medicines, each with its source and how sure it is.

The built-in catalogue is data (data/drugs.json). Organisations add their own medicines; the
database keeps those and hands them to the checks as the same `Drug` dataclass, so a medicine an
organisation adds (say a brand, or "lithium citrate solution") is checked like a built-in one as
long as it names its classes, ingredients and flags. A free-text entry ("free:<text>") has none of
them and is therefore not checked; `rules.check` says so instead of staying silent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast

Confidence = Literal["verified", "secondary", "unverified"]
CONFIDENCES: tuple[Confidence, ...] = ("verified", "secondary", "unverified")  # strongest first

DATA_FILE = Path(__file__).resolve().parent / "data" / "drugs.json"
FREE_PREFIX = "free:"


@dataclass(frozen=True)
class Source:
    citation: str
    url: str | None
    confidence: Confidence

    @property
    def unverified(self) -> bool:
        return self.confidence == "unverified"


@dataclass(frozen=True)
class BoxedWarning:
    key: str
    title: str
    text: str
    source: Source


@dataclass(frozen=True)
class Drug:
    """One medicine, as the checks see it.

    `classes` are keys of `classes()`; `ingredients` are the active moieties rules match on
    (valproic acid and divalproex are both "valproate"). `serotonergic`: flag with MAOIs;
    `mao_inhibitor`: inhibits MAO (MAOIs, MAO-B inhibitors, linezolid, methylene blue);
    `pressor`: risk of hypertensive crisis with MAOIs. `washout_days`: drug-free days needed
    after stopping this drug before starting one it interacts with through MAO.
    `boxed_warnings` and `monitoring` list only what is recorded with a source: empty means
    "none recorded". `sources` maps each fact ("rxnorm", "classes", "dose", "serotonergic",
    "washout", "boxed_warnings", "monitoring:<key>", "units", "routes"…) to its Source.
    """

    key: str
    name: str
    classes: tuple[str, ...] = ()
    ingredients: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    rxnorm: str | None = None
    rxnorm_verified: bool = False
    dose_min_mg: float | None = None
    dose_max_mg: float | None = None
    dose_note: str = ""
    serotonergic: bool = False
    antidepressant: bool = False
    enzyme_inducer: bool = False
    mao_inhibitor: bool = False
    pressor: bool = False
    washout_days: int | None = None
    half_life_note: str = ""
    boxed_warnings: tuple[str, ...] = ()
    monitoring: tuple[str, ...] = ()
    units: tuple[str, ...] = ("mg",)
    routes: tuple[str, ...] = ("oral",)
    sources: Mapping[str, Source] = field(
        default_factory=lambda: MappingProxyType({}), hash=False, compare=False, repr=False
    )

    @property
    def is_free_text(self) -> bool:
        return self.key.startswith(FREE_PREFIX)

    @property
    def checkable(self) -> bool:
        """False when nothing is known to check it against (free text, or an org entry without classes)."""
        return not self.is_free_text and bool(self.classes or self.ingredients)

    def source_for(self, fact: str) -> Source | None:
        return self.sources.get(fact)


@dataclass(frozen=True)
class _Catalogue:
    drugs: Mapping[str, Drug]
    sources: Mapping[str, Source]
    classes: Mapping[str, str]
    monitoring: Mapping[str, str]
    boxed_warnings: Mapping[str, BoxedWarning]


def get(key: str) -> Drug:
    """A built-in drug, or the free-text drug a "free:<text>" key stands for. KeyError otherwise."""
    if key.startswith(FREE_PREFIX):
        return free_text(key.removeprefix(FREE_PREFIX))
    return _catalogue().drugs[key]


def all_drugs() -> tuple[Drug, ...]:
    return tuple(_catalogue().drugs.values())


def search(text: str, *, extra: Iterable[Drug] = (), limit: int = 20) -> list[Drug]:
    """Drugs whose name, key or synonym matches `text`: exact first, then prefixes, then the rest.

    `extra` adds an organisation's own drugs to the search.
    """
    needle = _norm(text)
    if not needle:
        return []
    ranked: list[tuple[int, str, Drug]] = []
    for drug in (*all_drugs(), *extra):
        words = [_norm(w) for w in (drug.name, drug.key.replace("_", " "), *drug.synonyms)]
        if needle in words:
            rank = 0
        elif any(w.startswith(needle) for w in words):
            rank = 1
        elif any(needle in w for w in words):
            rank = 2
        else:
            continue
        ranked.append((rank, _norm(drug.name), drug))
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [drug for _, _, drug in ranked[:limit]]


def free_text(text: str) -> Drug:
    name = " ".join(text.split())
    if not name:
        raise ValueError("a free-text medicine needs a name")
    return Drug(key=f"{FREE_PREFIX}{name}", name=name, units=(), routes=())


def source(source_id: str) -> Source:
    return _catalogue().sources[source_id]


def classes() -> Mapping[str, str]:
    """Class key → label people read."""
    return _catalogue().classes


def monitoring_needs() -> Mapping[str, str]:
    """Monitoring key → label people read."""
    return _catalogue().monitoring


def boxed_warning(key: str) -> BoxedWarning:
    return _catalogue().boxed_warnings[key]


def weakest(sources: Iterable[Source]) -> Confidence:
    return max((s.confidence for s in sources), key=CONFIDENCES.index, default="unverified")


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


@cache
def _catalogue() -> _Catalogue:
    return _load(json.loads(DATA_FILE.read_text(encoding="utf-8")))


def _load(data: dict[str, Any]) -> _Catalogue:
    """Build the catalogue, refusing data that asserts a fact without a source."""
    sources = {
        sid: Source(s["citation"], s["url"], _confidence(s["confidence"], sid))
        for sid, s in data["sources"].items()
    }

    def ref(value: str | list[str], where: str) -> Source:
        sid, conf = (value, None) if isinstance(value, str) else (value[0], value[1])
        if sid not in sources:
            raise ValueError(f"{where}: unknown source {sid!r}")
        base = sources[sid]
        return base if conf is None else Source(base.citation, base.url, _confidence(conf, where))

    class_labels: dict[str, str] = dict(data["classes"])
    monitoring: dict[str, str] = dict(data["monitoring"])
    warnings = {
        key: BoxedWarning(key, w["title"], w["text"], ref(w["source"], f"boxed warning {key}"))
        for key, w in data["boxed_warnings"].items()
    }
    defaults = data["defaults"]
    drugs: dict[str, Drug] = {}
    for raw in data["drugs"]:
        key = raw["key"]
        if key in drugs or key.startswith(FREE_PREFIX):
            raise ValueError(f"drug {key!r}: duplicate or reserved key")
        facts = {fact: ref(value, f"drug {key} fact {fact}") for fact, value in raw["sources"].items()}
        for fact in ("units", "routes"):  # general knowledge unless the drug cites better
            facts.setdefault(fact, ref(defaults["sources"][fact], f"defaults {fact}"))
        dose = raw.get("dose_mg")
        drug = Drug(
            key=key,
            name=raw["name"],
            classes=tuple(raw["classes"]),
            ingredients=tuple(raw.get("ingredients", [key])),
            synonyms=tuple(raw.get("synonyms", [])),
            rxnorm=raw.get("rxnorm"),
            rxnorm_verified=raw.get("rxnorm") is not None and facts["rxnorm"].confidence == "verified",
            dose_min_mg=float(dose[0]) if dose else None,
            dose_max_mg=float(dose[1]) if dose else None,
            dose_note=raw.get("dose_note", ""),
            serotonergic=raw.get("serotonergic", False),
            antidepressant=raw.get("antidepressant", False),
            enzyme_inducer=raw.get("enzyme_inducer", False),
            mao_inhibitor=raw.get("mao_inhibitor", False),
            pressor=raw.get("pressor", False),
            washout_days=raw.get("washout_days"),
            half_life_note=raw.get("half_life_note", ""),
            boxed_warnings=tuple(raw.get("boxed_warnings", [])),
            monitoring=tuple(raw.get("monitoring", [])),
            units=tuple(raw.get("units", defaults["units"])),
            routes=tuple(raw.get("routes", defaults["routes"])),
            sources=MappingProxyType(facts),
        )
        _validate(drug, class_labels, monitoring, warnings)
        drugs[key] = drug
    return _Catalogue(
        drugs=MappingProxyType(drugs),
        sources=MappingProxyType(sources),
        classes=MappingProxyType(class_labels),
        monitoring=MappingProxyType(monitoring),
        boxed_warnings=MappingProxyType(warnings),
    )


def asserted_facts(drug: Drug) -> list[str]:
    """The facts a drug asserts, each of which must name a source."""
    asserted = {
        "classes": bool(drug.classes),
        "rxnorm": drug.rxnorm is not None,
        "dose": drug.dose_max_mg is not None,
        "serotonergic": drug.serotonergic,
        "mao_inhibitor": drug.mao_inhibitor,
        "pressor": drug.pressor,
        "enzyme_inducer": drug.enzyme_inducer,
        "washout": drug.washout_days is not None,
        "half_life": bool(drug.half_life_note),
        "boxed_warnings": bool(drug.boxed_warnings),
        "units": bool(drug.units),
        "routes": bool(drug.routes),
    }
    return [fact for fact, yes in asserted.items() if yes] + [f"monitoring:{m}" for m in drug.monitoring]


def _validate(
    drug: Drug,
    class_labels: Mapping[str, str],
    monitoring: Mapping[str, str],
    warnings: Mapping[str, BoxedWarning],
) -> None:
    problems = [f"unknown class {c!r}" for c in drug.classes if c not in class_labels]
    problems += [f"unknown monitoring {m!r}" for m in drug.monitoring if m not in monitoring]
    problems += [f"unknown boxed warning {w!r}" for w in drug.boxed_warnings if w not in warnings]
    problems += [f"{fact} has no source" for fact in asserted_facts(drug) if fact not in drug.sources]
    if not drug.classes:
        problems.append("no class")
    if (drug.dose_min_mg is None) != (drug.dose_max_mg is None) or (
        drug.dose_min_mg is not None and drug.dose_max_mg is not None and drug.dose_min_mg > drug.dose_max_mg
    ):
        problems.append("bad dose range")
    if problems:
        raise ValueError(f"drug {drug.key!r}: " + "; ".join(problems))


def _confidence(value: str, where: str) -> Confidence:
    if value not in CONFIDENCES:
        raise ValueError(f"{where}: confidence must be one of {CONFIDENCES}, not {value!r}")
    return cast(Confidence, value)
