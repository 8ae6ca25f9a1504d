"""The patient access policy of tandem.patients.access as querysets, for searches.

`grant_for()` decides for one patient; a search needs the same decision for every row at once,
in the query. `visible()` is that decision as a filter — the same bases in the same terms (care
team today, break-glass not expired, active consents naming the category, the org admin's
identity-only view, the patient's own record) — and a test holds the two in step, persona by
persona. Needs: a consent category, RECORD (identity, team and consents: any basis), or SAFETY
(the safety workflow: the care team and break-glass only, as tandem.safety.access decides).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from tandem.accounts.access import admin_org_ids, clinical_org_ids, memberships, primary_role
from tandem.fhir.auth import Caller
from tandem.patients.access import RECORD, active_consents
from tandem.patients.models import ALL_CATEGORIES, BreakGlass, CareTeamMember, Consent, Patient, active_on

SAFETY = "safety"
NEEDS = frozenset({RECORD, SAFETY, *ALL_CATEGORIES})


def visible_patients(caller: Caller, need: str) -> QuerySet[Patient]:
    """The active patients whose `need` the caller may read.

    The grounds (their own record, care teams, break-glass, consents, administration) are one
    IN over a UNION of patient ids: an OR of several IN subqueries makes PostgreSQL scan every
    patient instead of using the primary key."""
    assert need in NEEDS, need
    user = caller.user
    grounds: list[QuerySet[Any]] = []
    if caller.own_patient is not None and need != SAFETY:
        grounds.append(Patient.objects.filter(pk=caller.own_patient.pk).values("id"))
    if not caller.patient_context_only:
        today = timezone.localdate()
        grounds.append(CareTeamMember.objects.filter(active_on(today), user=user).values("patient_id"))
        grounds.append(
            BreakGlass.objects.filter(user=user, expires_at__gt=timezone.now()).values("patient_id")
        )
        orgs = clinical_org_ids(user)
        if orgs and need != SAFETY:
            consents = Consent.objects.filter(
                active_consents(today), Q(grantee_user=user) | Q(grantee_organisation_id__in=orgs)
            )
            if need != RECORD:
                # Categories are a JSON list of plain words; the quoted word matches one element.
                consents = consents.filter(categories__icontains=f'"{need}"')
            grounds.append(consents.values("patient_id"))
        admin_orgs = admin_org_ids(user)
        if admin_orgs and need == RECORD:
            grounds.append(Patient.objects.filter(organisation_id__in=admin_orgs).values("id"))
    if not grounds:
        return Patient.objects.none()
    first, *rest = (g.order_by() for g in grounds)
    return Patient.objects.filter(id__in=first.union(*rest) if rest else first, is_active=True)


def visible(caller: Caller, need: str, field: str = "patient_id") -> Q:
    """A filter on `field` (a patient id) keeping the rows of patients the caller may read."""
    return Q(**{f"{field}__in": visible_patients(caller, need).values("id")})


@dataclass(frozen=True)
class Basis:
    basis: str
    role: str
    organisation_id: int | None


def bases(caller: Caller, patient_ids: set[int]) -> dict[int, Basis]:
    """Why the caller sees each of these (already permitted) patients, for the audit rows.
    Four queries, whatever the number of patients."""
    if not patient_ids:
        return {}
    user = caller.user
    today = timezone.localdate()
    own = caller.own_patient_id
    orgs = dict(Patient.objects.filter(id__in=patient_ids).values_list("id", "organisation_id"))
    team = dict(
        CareTeamMember.objects.filter(active_on(today), user=user, patient_id__in=patient_ids).values_list(
            "patient_id", "role"
        )
    )
    glass = set(
        BreakGlass.objects.filter(
            user=user, expires_at__gt=timezone.now(), patient_id__in=patient_ids
        ).values_list("patient_id", flat=True)
    )
    member_orgs = [m.organisation_id for m in memberships(user)]
    fallback_role = primary_role(user)
    found: dict[int, Basis] = {}
    for pid in patient_ids:
        org = orgs.get(pid)
        acting_org = org if org in member_orgs else (member_orgs[0] if member_orgs else org)
        if pid == own:
            found[pid] = Basis("self", "patient", org)
        elif pid in team:
            found[pid] = Basis("care_team", team[pid], acting_org)
        elif pid in glass:
            found[pid] = Basis("break_glass", fallback_role, acting_org)
        elif org in admin_org_ids(user):
            found[pid] = Basis("admin", "org_admin", acting_org)
        else:
            found[pid] = Basis("consent", fallback_role, acting_org)
    return found


def parse_patient_id(value: Any) -> int | None:
    text = str(value).strip()
    if text.startswith("Patient/"):
        text = text.removeprefix("Patient/")
    elif "/Patient/" in text:
        text = text.rsplit("/Patient/", 1)[1]
    if not text.isdigit() or len(text) > 18:
        return None
    number = int(text)
    return number if number > 0 else None
