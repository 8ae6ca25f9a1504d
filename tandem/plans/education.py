"""Patient-education texts as data.

Built-in texts ship as Markdown in plans/education/<kind>/<key>.md, each starting with a
"# Title" line. An organisation may replace any of them with its own version (EducationTopic);
its patients then see that version, and every other organisation still sees the built-in one.
Markdown is rendered with raw HTML off, so an edited text cannot inject markup or scripts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.db.models import Q
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

from tandem.accounts.models import Organisation
from tandem.plans.models import EducationKind, EducationTopic
from tandem.plans.schema import MODALITIES

BUILTIN_DIR = Path(__file__).resolve().parent / "education"

# Every topic there is, by kind, with the name an org admin sees in the list.
CATALOGUE: dict[str, dict[str, str]] = {
    EducationKind.MODALITY: {key: spec["label"] for key, spec in MODALITIES.items()},
    EducationKind.MEDICATION_CLASS: {
        "ssri": "SSRI antidepressants",
        "snri": "SNRI antidepressants",
        "other-antidepressant": "Other antidepressants",
        "tca": "Tricyclic antidepressants",
        "maoi": "MAOI antidepressants",
        "anxiolytic": "Medicines for anxiety",
        "benzodiazepine": "Benzodiazepines",
        "mood-stabiliser": "Mood stabilisers",
        "antipsychotic": "Antipsychotic medicines",
        "stimulant": "Stimulants",
    },
    EducationKind.GENERAL: {
        "why-both": "Why therapy and medication together",
        "what-to-expect-medication": "What to expect from medication",
        "side-effects": "Side effects: what to report, and to whom",
    },
}

# Words in the plan's medication part that name a class (clinical-facts.md §E). Matching is on
# whole words, case-insensitive; the first class found for each word wins.
CLASS_WORDS: dict[str, tuple[str, ...]] = {
    "ssri": (
        "ssri",
        "ssris",
        "fluoxetine",
        "sertraline",
        "citalopram",
        "escitalopram",
        "paroxetine",
        "fluvoxamine",
        "vilazodone",
    ),
    "snri": ("snri", "snris", "venlafaxine", "duloxetine", "desvenlafaxine"),
    "other-antidepressant": ("bupropion", "mirtazapine", "trazodone", "vortioxetine"),
    "tca": ("tca", "tricyclic", "tricyclics", "amitriptyline", "nortriptyline", "clomipramine", "imipramine"),
    "maoi": ("maoi", "maois", "phenelzine", "tranylcypromine"),
    "anxiolytic": ("buspirone", "hydroxyzine"),
    "benzodiazepine": (
        "benzodiazepine",
        "benzodiazepines",
        "lorazepam",
        "alprazolam",
        "clonazepam",
        "diazepam",
    ),
    "mood-stabiliser": (
        "mood stabiliser",
        "mood stabilizer",
        "lithium",
        "valproate",
        "valproic",
        "divalproex",
        "lamotrigine",
        "carbamazepine",
        "oxcarbazepine",
    ),
    "antipsychotic": (
        "antipsychotic",
        "antipsychotics",
        "aripiprazole",
        "brexpiprazole",
        "quetiapine",
        "olanzapine",
        "risperidone",
        "iloperidone",
        "clozapine",
        "ziprasidone",
        "lurasidone",
        "paliperidone",
        "cariprazine",
        "haloperidol",
        "perphenazine",
    ),
    "stimulant": ("stimulant", "stimulants", "methylphenidate", "amphetamine", "lisdexamfetamine"),
}
_CLASS_PATTERNS = {
    key: re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)
    for key, words in CLASS_WORDS.items()
}

_markdown = MarkdownIt("commonmark", {"html": False})
# Images would be fetched from wherever the text points: no third party learns who reads what.
_markdown.disable("image")


@dataclass(frozen=True)
class Topic:
    kind: str
    key: str
    title: str
    body: str  # Markdown, without the title line
    overridden: bool


def is_topic(kind: str, key: str) -> bool:
    return key in CATALOGUE.get(kind, {})


def split_title(markdown: str) -> tuple[str, str]:
    """("Title", body) from a text whose first line is "# Title"; ("", text) without one."""
    lines = markdown.lstrip("\ufeff").splitlines()
    if lines and lines[0].startswith("# "):
        return lines[0][2:].strip(), "\n".join(lines[1:]).strip() + "\n"
    return "", markdown


@cache
def builtin(kind: str, key: str) -> tuple[str, str]:
    """The shipped (title, body) of a topic. KeyError for a topic not in the catalogue."""
    if not is_topic(kind, key):
        raise KeyError(f"{kind}/{key}")
    text = (BUILTIN_DIR / kind / f"{key}.md").read_text(encoding="utf-8")
    title, body = split_title(text)
    return title or CATALOGUE[kind][key], body


def topic(organisation: Organisation | int | None, kind: str, key: str) -> tuple[str, str]:
    """(title, Markdown body): the organisation's own version if it has one, else the built-in."""
    found = topics(organisation, [(kind, key)])[(kind, key)]
    return found.title, found.body


def topics(
    organisation: Organisation | int | None, wanted: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Topic]:
    """Several topics in one query, for pages that show many. Unknown topics are left out."""
    keys = [(kind, key) for kind, key in dict.fromkeys(wanted) if is_topic(kind, key)]
    overrides: dict[tuple[str, str], EducationTopic] = {}
    if organisation is not None and keys:
        match = Q()
        for kind, key in keys:
            match |= Q(kind=kind, key=key)
        for row in EducationTopic.objects.filter(match, organisation=organisation):
            overrides[(row.kind, row.key)] = row
    result = {}
    for kind, key in keys:
        own = overrides.get((kind, key))
        if own is not None:
            result[(kind, key)] = Topic(kind, key, own.title, own.body, overridden=True)
        else:
            title, body = builtin(kind, key)
            result[(kind, key)] = Topic(kind, key, title, body, overridden=False)
    return result


def render_markdown(text: str) -> SafeString:
    """Markdown to HTML. Raw HTML is escaped, and links markdown-it finds unsafe (javascript:,
    vbscript:, file:, data:) are not made into links."""
    return mark_safe(_markdown.render(text or ""))  # noqa: S308 - markdown-it escapes everything


def medication_classes(text: str) -> list[str]:
    """The medication classes a free-text medication approach names, in catalogue order."""
    return [key for key, pattern in _CLASS_PATTERNS.items() if pattern.search(text or "")]
