"""Flag: the safety flag (tandem.safety) — open from a positive suicide-risk screen until a
documented risk assessment resolves it. Seen by the care team and a clinician who broke the
glass, as in the UI (not by consented outside clinicians, not in the patient's own view)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from tandem.fhir.auth import Caller
from tandem.fhir.policy import SAFETY, visible
from tandem.fhir.registry import Include, ResourceType, register
from tandem.fhir.resources.common import codesystem, instant, patient_params, ref, token_q
from tandem.fhir.search import DateParam, Token, TokenParam
from tandem.safety.models import FlagStatus, SafetyFlag

CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
STATUS = "http://hl7.org/fhir/flag-status"


def _status_q(token: Token) -> Q:
    return token_q(
        token, STATUS, {"active": Q(status=FlagStatus.OPEN), "inactive": Q(status=FlagStatus.RESOLVED)}
    )


@register
class FlagType(ResourceType):
    name = "Flag"
    need = SAFETY
    patient_field = "patient_id"
    params = (*patient_params(), TokenParam("status", q=_status_q), DateParam("date", "opened_at"))
    sorts = {"_id": "pk", "date": "opened_at"}
    default_sort = ("-opened_at",)
    includes = {"Flag:patient": Include("Patient", lambda f: [str(f.patient_id)])}

    def queryset(self, caller: Caller) -> QuerySet[Any]:
        return SafetyFlag.objects.filter(visible(caller, SAFETY))

    def to_fhir(self, flag: SafetyFlag) -> dict[str, Any]:
        is_open = flag.status == FlagStatus.OPEN
        period = {
            "start": instant(flag.opened_at),
            **({"end": instant(flag.resolved_at)} if flag.resolved_at else {}),
        }
        return {
            "resourceType": "Flag",
            "id": str(flag.pk),
            "status": "active" if is_open else "inactive",
            "category": [{"coding": [{"system": CATEGORY, "code": "safety", "display": "Safety"}]}],
            "code": {
                "coding": [{"system": codesystem("safety-flag"), "code": "suicide-risk-assessment"}],
                "text": "Positive suicide-risk screen: risk assessment "
                + ("pending" if is_open else "documented"),
            },
            "subject": ref("Patient", flag.patient_id),
            "period": period,
        }
