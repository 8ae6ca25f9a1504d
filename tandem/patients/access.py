"""The one access policy for patient records.

A clinician sees a patient while on the patient's care team, or while an active consent covers
them (then only the consented categories), or for a few hours after breaking the glass. An org
admin manages the patients of their own organisation (identity, team, consents) but reads no
clinical detail unless on the team. A patient sees only their own record, in the portal.
Everybody else gets 404, the same answer as a missing id, and the denial is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from tandem.accounts.access import admin_org_ids, clinical_org_ids, memberships, primary_role
from tandem.audit.access import record_denied
from tandem.audit.actions import record_audit
from tandem.audit.models import Action
from tandem.patients.models import ALL_CATEGORIES, BreakGlass, CareTeamMember, Consent, Patient, active_on

RECORD = "record"  # identity, care team and consents: any basis of access
MANAGE = "manage"  # change identity, team and consents


@dataclass(frozen=True)
class PatientGrant:
    """Why, and how far, a user may see one patient."""

    patient: Patient
    basis: str  # care_team | consent | break_glass | admin | self
    role: str
    categories: frozenset[str]
    can_manage: bool

    def allows(self, need: str) -> bool:
        if need == RECORD:
            return True
        if need == MANAGE:
            return self.can_manage
        return need in self.categories


def active_consents(day: date) -> Q:
    return Q(revoked_at__isnull=True) & active_on(day)


def grant_for(user: Any, patient: Patient, *, portal: bool = False) -> PatientGrant | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if portal:
        if patient.portal_user_id == user.pk:
            return PatientGrant(patient, "self", "patient", ALL_CATEGORIES, can_manage=False)
        return None
    today = timezone.localdate()
    same_org_admin = patient.organisation_id in admin_org_ids(user)
    member = CareTeamMember.objects.filter(active_on(today), patient=patient, user=user).only("role").first()
    if member is not None:
        return PatientGrant(patient, "care_team", member.role, ALL_CATEGORIES, can_manage=True)
    glass = BreakGlass.objects.filter(patient=patient, user=user, expires_at__gt=timezone.now()).exists()
    if glass:
        return PatientGrant(patient, "break_glass", primary_role(user), ALL_CATEGORIES, can_manage=False)
    orgs = clinical_org_ids(user)
    if orgs:  # a consent reaches clinicians only, by name or through their organisation
        consented: set[str] = set()
        rows = Consent.objects.filter(
            active_consents(today),
            Q(grantee_user=user) | Q(grantee_organisation_id__in=orgs),
            patient=patient,
        ).values_list("categories", flat=True)
        for categories in rows:
            consented.update(c for c in categories if c in ALL_CATEGORIES)
        if consented:
            return PatientGrant(
                patient, "consent", primary_role(user), frozenset(consented), can_manage=False
            )
    if same_org_admin:
        return PatientGrant(patient, "admin", "org_admin", frozenset(), can_manage=True)
    return None


def _load(patient_id: Any) -> Patient | None:
    try:
        pk = int(patient_id)
    except (TypeError, ValueError):
        return None
    if pk <= 0 or pk > 2**62:
        return None
    return Patient.objects.select_related("organisation").filter(id=pk, is_active=True).first()


def access_patient(
    request: HttpRequest,
    patient_id: Any,
    *,
    need: str = RECORD,
    entity: str = "Patient",
    audit_read: bool = True,
) -> PatientGrant:
    """The patient and the grant, or Http404 for anybody who may not have it (audited)."""
    patient = _load(patient_id)
    grant = grant_for(request.user, patient) if patient is not None else None
    if patient is None or grant is None or not grant.allows(need):
        record_denied(request, entity, patient_id, patient=patient)
        raise Http404
    if audit_read:
        audit_patient_read(request, grant, entity=entity, need=need)
    return grant


def audit_patient_read(
    request: HttpRequest, grant: PatientGrant, *, entity: str = "Patient", need: str = RECORD
) -> None:
    record_audit(
        actor=request.user,  # type: ignore[arg-type]
        action=Action.READ,
        entity_type=entity,
        entity_id=grant.patient.pk,
        patient=grant.patient,
        role=grant.role,
        organisation=_actor_org(request.user, grant.patient),
        request=request,
        extra={"basis": grant.basis, "need": need},
    )


def access_own_patient(
    request: HttpRequest, *, entity: str = "Patient", audit_read: bool = True
) -> PatientGrant:
    """The signed-in patient's own record, for the portal."""
    patient = None
    if request.user.is_authenticated:
        patient = (
            Patient.objects.select_related("organisation")
            .filter(portal_user_id=request.user.pk, is_active=True)
            .first()
        )
    if patient is None:
        record_denied(request, entity, "portal")
        raise Http404
    grant = PatientGrant(patient, "self", "patient", ALL_CATEGORIES, can_manage=False)
    if audit_read:
        record_audit(
            actor=request.user,  # type: ignore[arg-type]
            action=Action.READ,
            entity_type=entity,
            entity_id=patient.pk,
            patient=patient,
            role="patient",
            request=request,
            organisation=patient.organisation_id,
        )
    return grant


def _actor_org(user: Any, patient: Patient) -> int | None:
    orgs = [m.organisation_id for m in memberships(user)]
    if patient.organisation_id in orgs:
        return patient.organisation_id
    return orgs[0] if orgs else None


def patients_for_clinician(user: Any) -> QuerySet[Patient]:
    """Every patient the clinician may open today, for lists and search ("My patients")."""
    orgs = clinical_org_ids(user)
    if not orgs:
        return Patient.objects.none()
    today = timezone.localdate()
    team = CareTeamMember.objects.filter(active_on(today), user=user).values("patient_id").order_by()
    consented = (
        Consent.objects.filter(
            active_consents(today), Q(grantee_user=user) | Q(grantee_organisation_id__in=orgs)
        )
        .values("patient_id")
        .order_by()
    )
    glass = (
        BreakGlass.objects.filter(user=user, expires_at__gt=timezone.now()).values("patient_id").order_by()
    )
    # One IN over a UNION, not three INs joined by OR: PostgreSQL cannot use the primary key
    # for an OR of subqueries and scans every patient (16 ms at 100 000 patients, per query).
    return Patient.objects.filter(id__in=team.union(consented, glass), is_active=True)


def patients_for_admin(organisation_id: int) -> QuerySet[Patient]:
    return Patient.objects.filter(organisation_id=organisation_id)


def may_break_glass(user: Any, patient: Patient) -> bool:
    return patient.organisation_id in clinical_org_ids(user)
