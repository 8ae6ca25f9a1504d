"""Practitioner: the clinicians on the care teams of the patients the caller may see (today's
members), and the calling clinician. Not patient data: not audited."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from tandem.accounts.access import is_clinician
from tandem.accounts.models import User
from tandem.fhir.auth import Caller
from tandem.fhir.policy import visible_patients
from tandem.fhir.registry import ResourceType, register
from tandem.fhir.search import StringParam
from tandem.patients.access import RECORD
from tandem.patients.models import CareTeamMember, active_on


@register
class PractitionerType(ResourceType):
    name = "Practitioner"
    params = (StringParam("name", ("full_name",)),)
    sorts = {"_id": "pk", "name": "full_name"}
    default_sort = ("full_name",)

    def queryset(self, caller: Caller) -> QuerySet[Any]:
        members = CareTeamMember.objects.filter(
            active_on(timezone.localdate()), patient__in=visible_patients(caller, RECORD)
        ).values("user_id")
        own = (
            Q(pk=caller.user.pk)
            if is_clinician(caller.user) and not caller.patient_context_only
            else Q(pk__in=[])
        )
        return User.objects.filter(Q(id__in=members) | own, is_active=True)

    def to_fhir(self, user: User) -> dict[str, Any]:
        parts = user.full_name.split()
        name: dict[str, Any] = {"text": user.full_name or user.email}
        if len(parts) > 1:
            name |= {"family": parts[-1], "given": parts[:-1]}
        resource: dict[str, Any] = {
            "resourceType": "Practitioner",
            "id": str(user.pk),
            "active": user.is_active,
            "name": [name],
            "telecom": [{"system": "email", "value": user.email, "use": "work"}],
        }
        if user.credentials:
            resource["qualification"] = [{"code": {"text": user.credentials}}]
        return resource
