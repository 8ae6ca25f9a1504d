"""Organization: the caller's own organisations, those owning the patients they may see, and
those of the clinicians on those patients' care teams. Not patient data: not audited."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from tandem.accounts.access import memberships
from tandem.accounts.models import Organisation
from tandem.fhir.auth import Caller
from tandem.fhir.policy import visible_patients
from tandem.fhir.registry import ResourceType, register
from tandem.fhir.search import StringParam
from tandem.patients.access import RECORD
from tandem.patients.models import CareTeamMember, active_on


@register
class OrganizationType(ResourceType):
    name = "Organization"
    params = (StringParam("name", ("name",)),)
    sorts = {"_id": "pk", "name": "name"}
    default_sort = ("name",)

    def queryset(self, caller: Caller) -> QuerySet[Any]:
        patients = visible_patients(caller, RECORD)
        teams = CareTeamMember.objects.filter(active_on(timezone.localdate()), patient__in=patients)
        own = [] if caller.patient_context_only else [m.organisation_id for m in memberships(caller.user)]
        return Organisation.objects.filter(
            Q(id__in=own)
            | Q(id__in=patients.values("organisation_id"))
            | Q(id__in=teams.values("organisation_id"))
        )

    def to_fhir(self, org: Organisation) -> dict[str, Any]:
        return {
            "resourceType": "Organization",
            "id": str(org.pk),
            "identifier": [{"system": "urn:tandem:organisation", "value": org.slug}],
            "active": True,
            "name": org.name,
        }
