"""Words in a patient's message that may signal a crisis.

When a message the patient sends contains one of these phrases (case-insensitive, as whole words:
"overdose" matches "Overdose!" but not "overdoses"), the portal shows crisis resources at once
and the care team gets an urgent alert that does not quote the message. The list errs on the
side of showing help; a false match costs the patient one extra screen.

Source: everyday phrasings of suicidal thoughts, overdose and self-harm (general knowledge,
unverified; not a validated instrument). It is a prompt to offer help, never a risk assessment.
"""

from __future__ import annotations

import re

CRISIS_PHRASES: tuple[str, ...] = (
    "suicide",
    "suicidal",
    "kill myself",
    "killing myself",
    "end my life",
    "ending my life",
    "end it all",
    "take my own life",
    "take my life",
    "want to die",
    "wanna die",
    "better off dead",
    "no reason to live",
    "overdose",
    "overdosed",
    "overdosing",
    "self-harm",
    "self harm",
    "selfharm",
    "harm myself",
    "hurt myself",
    "cut myself",
    "cutting myself",
)


def _pattern(phrase: str) -> str:
    # Any run of spaces (or a hyphen, for "self-harm") between words; whole words only.
    words = re.split(r"[\s-]+", phrase)
    return r"\b" + r"[\s-]+".join(re.escape(w) for w in words) + r"\b"


CRISIS_RE = re.compile("|".join(_pattern(p) for p in CRISIS_PHRASES), re.IGNORECASE)


def has_crisis_words(text: str) -> bool:
    # Curly apostrophes and other look-alikes do not matter: no phrase contains one.
    return bool(CRISIS_RE.search(text or ""))
