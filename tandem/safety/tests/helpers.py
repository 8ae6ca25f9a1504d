"""Submitting questionnaires the way the portal, a clinician and a FHIR sender do."""

from __future__ import annotations

from typing import Any

from tandem.measures.actions import do_record_response
from tandem.measures.definitions import get
from tandem.measures.tests.helpers import answers, phq9

CSSRS = get("c-ssrs-screener")


def record_phq9(
    personas: Any, item9: int, *, key: str = "safety-key-1", source: str = "portal", **kwargs: Any
):
    return do_record_response(
        personas.patient,
        instrument="phq-9",
        answers=phq9([1] * 8 + [item9]),
        administered_by="patient" if source == "portal" else "clinician",
        source=source,
        idempotency_key=key,
        acting_user=personas.patient_user if source == "portal" else personas.therapist,
        role="patient" if source == "portal" else "therapist",
        **kwargs,
    )


def portal_phq9_post(item9: int, key: str = "portal-key-0001") -> dict[str, str]:
    """The portal form's POST: q1…q9 by answer code, and the idempotency key."""
    codes = list(phq9([1] * 8 + [item9]).values())
    return {"key": key, **{f"q{n}": code for n, code in enumerate(codes, 1)}}


def cssrs_yes(*links: str) -> dict[str, Any]:
    values = {link: (1 if link in links else 0) for link in ("/93246-7", "/93247-5", "/93267-3")}
    values.update(dict.fromkeys(links, 1))
    return answers(CSSRS, values)
