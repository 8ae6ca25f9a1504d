"""A stored TreatmentSignal's reasons for a page: each finding and adequacy part with the full
text of its source (the row keeps only the source's key, to stay small at 100 000 patients)."""

from __future__ import annotations

from typing import Any

from tandem.measures.models import TreatmentSignal
from tandem.measures.signals import adequacy, rules


def explain(signal: TreatmentSignal | None) -> dict[str, Any] | None:
    if signal is None:
        return None
    reasons = signal.reasons or {}
    found = reasons.get("adequacy") or {}
    return {
        "signal": signal,
        "label": signal.label,
        "findings": [
            {**f, "cite": rules.SOURCES.get(f.get("source", ""), f.get("source", ""))}
            for f in reasons.get("findings", [])
        ],
        "adequacy": {
            **found,
            "parts": [
                {**p, "cite": adequacy.SOURCES.get(p.get("source", ""), p.get("source", ""))}
                for p in found.get("parts", [])
            ],
        }
        if found
        else None,
        "show_adequacy": bool(reasons.get("show_adequacy")),
        "configurable": reasons.get("configurable", ""),
    }
