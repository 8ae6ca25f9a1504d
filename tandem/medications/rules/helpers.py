"""Helpers shared by the rules."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from tandem.medications import catalog
from tandem.medications.catalog import Source
from tandem.medications.rules.model import Finding, Severity

# ---------------------------------------------------------------------------------------------
# Helpers and the rule list.


def _finding(
    rule_id: str,
    severity: Severity,
    title: str,
    message: str,
    sources: tuple[Source, ...],
    drugs: tuple[str, ...],
    *,
    due: date | None = None,
    override: bool | None = None,
) -> Finding:
    """Contraindicated and major findings need a reason to go ahead, unless the rule says otherwise."""
    needs_reason = severity in ("contraindicated", "major") if override is None else override
    unique = tuple(dict.fromkeys(sources))
    return Finding(rule_id, severity, title, message, unique, needs_reason, drugs, due)


def _sources(ids: Iterable[str]) -> tuple[Source, ...]:
    return tuple(catalog.source(i) for i in ids)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
