"""Patient: identity, contact and the owning organisation. Needs any basis of access (RECORD):
the org admin sees the identity of their organisation's patients, as in the UI."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from tandem.fhir.auth import Caller
from tandem.fhir.policy import visible
from tandem.fhir.registry import Include, ResourceType, register
from tandem.fhir.resources.common import instant, ref
from tandem.fhir.search import DateParam, StringParam, Token, TokenParam
from tandem.patients.access import RECORD
from tandem.patients.models import Patient


def mrn_system(slug: str) -> str:
    return f"urn:tandem:mrn:{slug}"


def _identifier_q(token: Token) -> Q:
    if token.system is None:
        return Q(mrn=token.code)
    if not token.system.startswith("urn:tandem:mrn:"):
        return Q(pk__in=[])
    slug = token.system.removeprefix("urn:tandem:mrn:")
    return Q(organisation__slug=slug) & (Q(mrn=token.code) if token.code else Q())


@register
class PatientType(ResourceType):
    name = "Patient"
    need = RECORD
    patient_field = "id"
    params = (
        TokenParam("identifier", q=_identifier_q, doc="the MRN: urn:tandem:mrn:<organisation>|<mrn>"),
        StringParam("name", ("given_name", "family_name", "preferred_name")),
        StringParam("family", ("family_name",)),
        StringParam("given", ("given_name", "preferred_name")),
        DateParam("birthdate", "date_of_birth", is_date=True),
    )
    sorts = {"_id": "pk", "family": "family_name", "birthdate": "date_of_birth", "_lastUpdated": "updated_at"}
    default_sort = ("family_name", "given_name")
    includes = {"Patient:organization": Include("Organization", lambda p: [str(p.organisation_id)])}
    last_updated = "updated_at"
    patient_params = ("_id",)

    def queryset(self, caller: Caller) -> QuerySet[Any]:
        return Patient.objects.filter(visible(caller, RECORD, field="id")).select_related("organisation")

    def patient_of(self, row: Any) -> int | None:
        return row.pk

    def to_fhir(self, p: Patient) -> dict[str, Any]:
        names: list[dict[str, Any]] = [{"use": "official", "family": p.family_name, "given": [p.given_name]}]
        if p.preferred_name:
            names.append({"use": "usual", "given": [p.preferred_name], "family": p.family_name})
        resource: dict[str, Any] = {
            "resourceType": "Patient",
            "id": str(p.pk),
            "meta": {"lastUpdated": instant(p.updated_at)},
            "identifier": [
                {
                    "use": "usual",
                    "type": {
                        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]
                    },
                    "system": mrn_system(p.organisation.slug),
                    "value": p.mrn,
                }
            ],
            "active": p.is_active,
            "name": names,
            "birthDate": p.date_of_birth.isoformat(),
            "communication": [
                {
                    "language": {"coding": [{"system": "urn:ietf:bcp:47", "code": p.preferred_language}]},
                    "preferred": True,
                }
            ],
            "managingOrganization": ref("Organization", p.organisation_id, p.organisation.name),
        }
        telecom = []
        if p.phone:
            telecom.append({"system": "phone", "value": p.phone})
        if p.email:
            telecom.append({"system": "email", "value": p.email})
        if telecom:
            resource["telecom"] = telecom
        if p.address:
            resource["address"] = [{"text": p.address}]
        if p.emergency_contact_name:
            contact: dict[str, Any] = {"name": {"text": p.emergency_contact_name}}
            if p.emergency_contact_relationship:
                contact["relationship"] = [{"text": p.emergency_contact_relationship}]
            if p.emergency_contact_phone:
                contact["telecom"] = [{"system": "phone", "value": p.emergency_contact_phone}]
            resource["contact"] = [contact]
        return resource
