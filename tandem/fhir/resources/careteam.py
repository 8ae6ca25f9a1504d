"""CareTeam: one per patient (CareTeam/<patient id>), past members with their period — the same
resource as tandem.plans.fhir.careteam(), built here from members loaded for a whole page at once."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from tandem.fhir.auth import Caller
from tandem.fhir.policy import visible
from tandem.fhir.registry import Include, ResourceType, register
from tandem.fhir.resources.common import patient_params, ref, token_q
from tandem.fhir.search import Token, TokenParam
from tandem.patients.access import RECORD
from tandem.patients.models import CareTeamMember, Patient, active_on
from tandem.plans.fhir import _role

STATUS = "http://hl7.org/fhir/care-team-status"


def _status_q(token: Token) -> Q:
    active = Exists(CareTeamMember.objects.filter(active_on(timezone.localdate()), patient=OuterRef("pk")))
    return token_q(token, STATUS, {"active": Q(active), "inactive": ~Q(active)})


@register
class CareTeamType(ResourceType):
    name = "CareTeam"
    need = RECORD
    patient_field = "id"
    params = (*patient_params("pk"), TokenParam("status", q=_status_q))
    sorts = {"_id": "pk"}
    default_sort = ("pk",)
    includes = {
        "CareTeam:patient": Include("Patient", lambda p: [str(p.pk)]),
        "CareTeam:subject": Include("Patient", lambda p: [str(p.pk)]),
        "CareTeam:participant": Include(
            "Practitioner", lambda p: [str(m.user_id) for m in p.care_team.all()]
        ),
    }

    def queryset(self, caller: Caller) -> QuerySet[Any]:
        members = CareTeamMember.objects.select_related("user", "organisation").order_by("start", "pk")
        return (
            Patient.objects.filter(visible(caller, RECORD, field="id"))
            .select_related("organisation")
            .prefetch_related(Prefetch("care_team", queryset=members))
        )

    def patient_of(self, row: Any) -> int | None:
        return row.pk

    def to_fhir(self, patient: Patient) -> dict[str, Any]:
        members = list(patient.care_team.all())
        participants: list[dict[str, Any]] = [
            {"role": _role("patient"), "member": ref("Patient", patient.pk)}
        ]
        for m in members:
            period = {"start": m.start.isoformat(), **({"end": m.end.isoformat()} if m.end else {})}
            participants.append(
                {
                    "role": _role(m.role),
                    "member": ref("Practitioner", m.user_id, m.user.display_name),
                    "onBehalfOf": ref("Organization", m.organisation_id, m.organisation.name),
                    "period": period,
                }
            )
        today = timezone.localdate()
        return {
            "resourceType": "CareTeam",
            "id": str(patient.pk),
            "status": "active" if any(m.is_active_on(today) for m in members) else "inactive",
            "name": "Care team",
            "subject": ref("Patient", patient.pk),
            "participant": participants,
            "managingOrganization": [ref("Organization", patient.organisation_id, patient.organisation.name)],
        }
