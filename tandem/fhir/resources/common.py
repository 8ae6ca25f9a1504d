"""Small pieces every mapper uses."""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Q

from tandem.fhir.search import ReferenceParam, Token
from tandem.plans.fhir import codesystem

__all__ = ["codesystem", "instant", "patient_params", "ref", "token_q"]


def ref(resource: str, id_: object, display: str = "") -> dict[str, str]:
    return {"reference": f"{resource}/{id_}", **({"display": display} if display else {})}


def instant(moment: datetime | date) -> str:
    return moment.isoformat()


def patient_params(field_name: str = "patient_id") -> tuple[ReferenceParam, ReferenceParam]:
    """`patient` and `subject` (a Patient reference), the same filter."""
    return (
        ReferenceParam("patient", field_name, doc="the patient: Patient/<id> or <id>"),
        ReferenceParam("subject", field_name, doc="the patient: Patient/<id> or <id>"),
    )


def token_q(token: Token, system: str, codes: dict[str, Q]) -> Q:
    """A token against a fixed set of codes of one system, each code a filter."""
    if token.system not in (None, system):
        return Q(pk__in=[])
    if not token.code:
        return Q()
    return codes.get(token.code, Q(pk__in=[]))
