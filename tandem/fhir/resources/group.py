"""Group (read-only): the cohorts a Bulk Data `Group/<id>/$export` names.

- `caseload-<user id>`: a clinician's caseload — the patients on whose care team they are today.
  Seen by that clinician, and by the administrators of an organisation they belong to.
- `org-<organisation id>`: an organisation's active patients. Seen by its members.

The members listed are only those the caller may see (the same policy as Patient, RECORD): a
Group never reveals a patient its reader could not open. Reading a Group is audited as a read
of each member listed.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from tandem.accounts.access import admin_org_ids, memberships
from tandem.accounts.models import CLINICAL_ROLES, Membership, Organisation, User
from tandem.fhir.audit import record_reads
from tandem.fhir.auth import Caller
from tandem.fhir.policy import visible_patients
from tandem.fhir.registry import MemoryType, register
from tandem.fhir.resources.common import ref
from tandem.fhir.search import Query, ReferenceParam, StringParam, TokenParam
from tandem.patients.access import RECORD
from tandem.patients.models import CareTeamMember, active_on

CASELOAD = "caseload-"
ORGANISATION = "org-"
GROUP_TYPE = "http://hl7.org/fhir/group-type"


class MemberParam(ReferenceParam):
    """`member=Patient/<id>`: the Groups listing that patient."""

    def match(self, resource: dict[str, Any], value: str | None) -> bool:
        wanted = f"Patient/{value}"
        return any(m["entity"]["reference"] == wanted for m in resource.get("member", []))


def _number(text: str, prefix: str) -> int | None:
    rest = text.removeprefix(prefix)
    return int(rest) if text.startswith(prefix) and rest.isdigit() and len(rest) < 19 else None


def _visible_clinicians(caller: Caller) -> set[int]:
    """Whose caseload Groups the caller sees: their own, and those of the clinicians of the
    organisations they administer."""
    if caller.patient_context_only:
        return set()
    found = {caller.user.pk} if any(m.role in CLINICAL_ROLES for m in memberships(caller.user)) else set()
    admin = admin_org_ids(caller.user)
    if admin:
        found |= set(
            Membership.objects.filter(
                organisation_id__in=admin, role__in=list(CLINICAL_ROLES), is_active=True, user__is_active=True
            ).values_list("user_id", flat=True)
        )
    return found


def _visible_orgs(caller: Caller) -> set[int]:
    return set() if caller.patient_context_only else {m.organisation_id for m in memberships(caller.user)}


def groups(caller: Caller, only: set[str] | None = None) -> list[dict[str, Any]]:
    """The Groups the caller sees (only the ids in `only`, when given), members filtered by the
    policy. Four queries, whatever the number of Groups."""
    clinicians = _visible_clinicians(caller)
    orgs = _visible_orgs(caller)
    if only is not None:
        clinicians &= {n for n in (_number(i, CASELOAD) for i in only) if n is not None}
        orgs &= {n for n in (_number(i, ORGANISATION) for i in only) if n is not None}
    if not clinicians and not orgs:
        return []
    visible = visible_patients(caller, RECORD)
    found: list[dict[str, Any]] = []
    if clinicians:
        members: dict[int, set[int]] = {uid: set() for uid in clinicians}
        rows = CareTeamMember.objects.filter(
            active_on(timezone.localdate()), user_id__in=clinicians, patient__in=visible
        ).values_list("user_id", "patient_id")
        for uid, pid in rows:
            members[uid].add(pid)
        names = dict(User.objects.filter(pk__in=clinicians).values_list("pk", "full_name"))
        for uid in sorted(clinicians):
            label = names.get(uid) or f"clinician {uid}"
            found.append(
                _group(f"{CASELOAD}{uid}", f"Caseload of {label}", ref("Practitioner", uid), members[uid])
            )
    if orgs:
        by_org: dict[int, set[int]] = {oid: set() for oid in orgs}
        for pid, oid in visible.filter(organisation_id__in=orgs).values_list("pk", "organisation_id"):
            by_org[oid].add(pid)
        for org in Organisation.objects.filter(pk__in=orgs).order_by("pk"):
            found.append(
                _group(
                    f"{ORGANISATION}{org.pk}",
                    f"Patients of {org.name}",
                    ref("Organization", org.pk),
                    by_org[org.pk],
                )
            )
    return found


def member_ids(caller: Caller, group_id: str) -> list[int] | None:
    """The patients of Group `group_id` the caller may see, or None when the caller may not see
    the Group (or there is none)."""
    found = groups(caller, {group_id})
    if not found:
        return None
    return [int(m["entity"]["reference"].removeprefix("Patient/")) for m in found[0].get("member", [])]


def _group(gid: str, name: str, manager: dict[str, str], members: set[int]) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Group",
        "id": gid,
        "active": True,
        "type": "person",
        "actual": True,
        "name": name,
        "managingEntity": manager,
        "quantity": len(members),
    }
    if members:
        resource["member"] = [{"entity": ref("Patient", pid)} for pid in sorted(members)]
    return resource


@register
class GroupType(MemoryType):
    name = "Group"
    need = RECORD
    params = (
        StringParam("name", get=lambda r: [r.get("name", "")]),
        TokenParam("type", match=lambda r, t: t.matches(t.system or GROUP_TYPE, r.get("type"))),
        MemberParam("member", doc="the patient: Patient/<id> or <id>"),
    )
    sorts = {"_id": "id", "name": "name"}
    patient_params = ("member",)
    documentation = (
        "Read-only cohorts for Bulk Data: caseload-<user id> (a clinician's caseload) and "
        "org-<organisation id> (an organisation's patients); members limited to those the caller may see."
    )

    def candidates(self, caller: Caller, query: Query) -> list[tuple[int | None, dict[str, Any]]]:
        wanted = {str(t.code) for values in query.values("_id") for t in values}
        only = wanted if query.values("_id") else None
        return [(None, resource) for resource in groups(caller, only)]

    def audit(self, request: HttpRequest, caller: Caller, rows: list[Any], interaction: str) -> None:
        patients = {
            int(m["entity"]["reference"].removeprefix("Patient/"))
            for _, resource in rows
            for m in resource.get("member", [])
        }
        record_reads(request, caller, self.name, patients, need=RECORD, interaction=interaction)
