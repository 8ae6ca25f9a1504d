"""The patient access policy of tandem.patients.access as querysets, for searches.

`grant_for()` decides for one patient; a search needs the same decision for every row at once,
in the query. `visible()` is that decision as a filter — the same bases in the same terms (care
team today, break-glass not expired, active consents naming the category, the org admin's
identity-only view, the patient's own record) — and a test holds the two in step, persona by
persona. Needs: a consent category, RECORD (identity, team and consents: any basis), or SAFETY
(the safety workflow: the care team and break-glass only, as tandem.safety.access decides).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from tandem.accounts.access import admin_org_ids, clinical_org_ids, memberships, primary_role
from tandem.accounts.models import CLINICAL_ROLES, Membership
from tandem.fhir.auth import Caller
from tandem.lib.prepared import PreparedLookup
from tandem.patients.access import RECORD, active_consents
from tandem.patients.models import ALL_CATEGORIES, BreakGlass, CareTeamMember, Consent, Patient, active_on

SAFETY = "safety"
NEEDS = frozenset({RECORD, SAFETY, *ALL_CATEGORIES})


def visible_patients(caller: Caller, need: str) -> QuerySet[Patient]:
    """The active patients whose `need` the caller may read.

    For a request known to concern certain patients alone (`caller.within`), the answer is
    those of them the policy grants (`grants`: one query, remembered for the request), so that
    the request's own queries filter on a short list instead of the whole policy."""
    if caller.within is not None:
        return Patient.objects.filter(id__in=sorted(grants(caller, caller.within, need)))
    return _policy(caller, need)


def _policy(caller: Caller, need: str) -> QuerySet[Patient]:
    """The policy itself: the grounds (their own record, care teams, break-glass, consents,
    administration) as one IN over a UNION of patient ids — an OR of several IN subqueries
    makes PostgreSQL scan every patient instead of using the primary key."""
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
    if caller.within is not None:
        return Q(**{f"{field}__in": sorted(grants(caller, caller.within, need))})
    return Q(**{f"{field}__in": _policy(caller, need).values("id")})


@dataclass(frozen=True)
class Basis:
    basis: str
    role: str
    organisation_id: int | None


def grants(caller: Caller, patient_ids: Iterable[int], need: str) -> dict[int, Basis]:
    """Those of these patients whose `need` the caller may read, each with why (for the audit
    rows). Decided by the policy in one query and remembered for the request: a search, its
    audit and its includes ask once."""
    memo: dict[int, Basis | None] = caller.memo.setdefault(("grants", need, caller.patient_context_only), {})
    wanted = set(patient_ids)
    missing = wanted - memo.keys()
    if missing:
        found = _decide(caller, missing, need)
        for pid in missing:
            memo[pid] = found.get(pid)
    return {pid: basis for pid in sorted(wanted) if (basis := memo[pid]) is not None}


def _decide(caller: Caller, patient_ids: set[int], need: str) -> dict[int, Basis]:
    if len(patient_ids) == 1:
        (pid,) = patient_ids
        one = _decide_one(caller, pid, need)
        return {pid: one} if one is not None else {}
    user = caller.user
    today = timezone.localdate()
    rows = (
        _policy(caller, need)
        .filter(id__in=patient_ids)
        .annotate(
            team_role=_team_role(user.pk, today),
            glass=_glass(user.pk, timezone.now()),
        )
        .values_list("id", "organisation_id", "team_role", "glass")
    )
    return {pid: _basis(caller, pid, org, team_role, glass) for pid, org, team_role, glass in rows}


def _team_role(user_id: int, today: date) -> Subquery:
    members = CareTeamMember.objects.filter(active_on(today), user_id=user_id, patient_id=OuterRef("pk"))
    return Subquery(members.order_by("start", "pk").values("role")[:1])


def _glass(user_id: int, now: datetime) -> Exists:
    return Exists(BreakGlass.objects.filter(user_id=user_id, expires_at__gt=now, patient_id=OuterRef("pk")))


def _basis(caller: Caller, pid: int, org: int, team_role: str | None, glass: bool) -> Basis:
    member_orgs = [m.organisation_id for m in memberships(caller.user)]
    acting_org = org if org in member_orgs else (member_orgs[0] if member_orgs else org)
    if pid == caller.own_patient_id:
        return Basis("self", "patient", org)
    if team_role is not None:
        return Basis("care_team", team_role, acting_org)
    if glass:
        return Basis("break_glass", primary_role(caller.user), acting_org)
    if org in admin_org_ids(caller.user):
        return Basis("admin", "org_admin", acting_org)
    return Basis("consent", primary_role(caller.user), acting_org)


def _facts(need: str) -> PreparedLookup[Patient]:
    """One patient with each ground of the policy as a column, compiled once per need: the
    policy's decision for a single patient (a read, a search naming its patient) in one cheap
    query. `_decide_one` reads the columns as `_policy` combines the grounds; a test holds the
    two in step, persona by persona and need by need."""

    def build(patient_id: int, user_id: int, today: date, now: datetime) -> QuerySet[Patient]:
        found = Patient.objects.filter(pk=patient_id).annotate(
            team_role=_team_role(user_id, today), glass=_glass(user_id, now)
        )
        if need != SAFETY:
            orgs = Membership.objects.filter(
                user_id=user_id, is_active=True, organisation__isnull=False, role__in=CLINICAL_ROLES
            ).values("organisation_id")
            consents = Consent.objects.filter(
                active_consents(today),
                Q(grantee_user_id=user_id) | Q(grantee_organisation_id__in=orgs),
                patient_id=OuterRef("pk"),
            )
            if need != RECORD:
                consents = consents.filter(categories__icontains=f'"{need}"')
            found = found.annotate(consent=Exists(consents))
        return found.only("id", "organisation_id", "is_active")

    if need not in _FACTS:
        _FACTS[need] = PreparedLookup(build, patient_id=int, user_id=int, today=date, now=datetime)
    return _FACTS[need]


_FACTS: dict[str, PreparedLookup[Patient]] = {}


def _decide_one(caller: Caller, pid: int, need: str) -> Basis | None:
    assert need in NEEDS, need
    user = caller.user
    row = _facts(need).first(patient_id=pid, user_id=user.pk, today=timezone.localdate(), now=timezone.now())
    if row is None or not row.is_active:
        return None
    own = pid == caller.own_patient_id and need != SAFETY
    team_role: str | None = row.team_role  # type: ignore[attr-defined]
    glass: bool = bool(row.glass)  # type: ignore[attr-defined]
    if caller.patient_context_only:
        allowed = own
    else:
        allowed = (
            own
            or team_role is not None
            or glass
            or (need != SAFETY and bool(clinical_org_ids(user)) and bool(row.consent))  # type: ignore[attr-defined]
            or (need == RECORD and row.organisation_id in admin_org_ids(user))
        )
    return _basis(caller, pid, row.organisation_id, team_role, glass) if allowed else None


def bases(caller: Caller, patient_ids: set[int]) -> dict[int, Basis]:
    """Why the caller sees each of these (already permitted) patients, for the audit rows: what
    this request's policy decisions found, else one query (under RECORD, which every other need
    narrows)."""
    if not patient_ids:
        return {}
    found: dict[int, Basis] = {}
    for key, decided in caller.memo.items():
        if key[0] == "grants":
            found |= {pid: b for pid in patient_ids if (b := decided.get(pid)) is not None}
    missing = patient_ids - found.keys()
    if missing:
        found |= _decide(replace(caller, within=None, patient_context_only=False), missing, RECORD)
    if missing := patient_ids - found.keys():  # no ground found now: recorded as by consent
        for pid, org in Patient.objects.filter(id__in=missing).values_list("id", "organisation_id"):
            found[pid] = _basis(caller, pid, org, None, False)
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
