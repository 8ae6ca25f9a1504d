"""Who a user is in which organisation. Cached on the user object for the request."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest

from tandem.accounts.models import CLINICAL_ROLES, Membership, Organisation, Role, User
from tandem.lib.prepared import PreparedLookup


def memberships(user: Any) -> list[Membership]:
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_tandem_memberships", None)
    if cached is None:
        cached = user._tandem_memberships = _MEMBERSHIPS.all(user_id=user.pk)
    return cached


# Nearly every request asks: compiled once (tandem.lib.prepared).
_MEMBERSHIPS = PreparedLookup(
    lambda user_id: Membership.objects.filter(
        user_id=user_id, is_active=True, organisation__isnull=False
    ).select_related("organisation"),
    user_id=int,
)


def clinical_org_ids(user: Any) -> set[int]:
    return {m.organisation_id for m in memberships(user) if m.role in CLINICAL_ROLES}


def admin_org_ids(user: Any) -> set[int]:
    return {m.organisation_id for m in memberships(user) if m.role == Role.ORG_ADMIN}


def is_clinician(user: Any) -> bool:
    return bool(clinical_org_ids(user))


def is_org_admin(user: Any) -> bool:
    return bool(admin_org_ids(user))


def is_patient(user: Any) -> bool:
    return patient_crisis_line(user) is not None


def patient_crisis_line(user: Any) -> str | None:
    """The crisis line of the patient's organisation, or None when the user is not a patient.
    One query, cached on the user for the request."""
    if not getattr(user, "is_authenticated", False):
        return None
    if not hasattr(user, "_tandem_crisis_line"):
        from tandem.patients.models import Patient
        from tandem.safety.crisis import resources_for
        from tandem.safety.models import CrisisSettings

        patient = (
            Patient.objects.filter(portal_user=user)
            .select_related("organisation__crisis_settings")
            .only(
                "time_zone",
                "organisation__crisis_line",
                "organisation__name",
                "organisation__crisis_settings",
            )
            .first()
        )
        line = None
        if patient is not None:
            # None when the organisation has no settings (the reverse one-to-one raises an
            # AttributeError subclass then).
            settings_row: CrisisSettings | None = getattr(patient.organisation, "crisis_settings", None)
            # The first line for the organisation's country (its own line first when it set one).
            line = resources_for(patient, settings_row, looked_up=True).first.number
        user._tandem_crisis_line = line
    return user._tandem_crisis_line


def needs_mfa(user: Any) -> bool:
    """Clinicians and administrators must use a second factor when MFA is required."""
    return is_clinician(user) or is_org_admin(user) or bool(getattr(user, "is_superuser", False))


def primary_role(user: Any) -> str:
    roles = [m.role for m in memberships(user)]
    for role in (*[r.value for r in Role if r != Role.ORG_ADMIN], Role.ORG_ADMIN.value):
        if role in roles:
            return role
    return "patient" if is_patient(user) else ""


def access_admin_organisation(request: HttpRequest) -> Organisation:
    """The organisation the signed-in org admin manages; 404 (audited) for anybody else."""
    from tandem.audit.access import record_denied

    for m in memberships(request.user):
        if m.role == Role.ORG_ADMIN:
            return m.organisation
    record_denied(request, "Organisation", "")
    raise Http404


def access_org_member(request: HttpRequest, organisation: Organisation, user_id: int) -> User:
    """A user with a membership in the admin's organisation; others are not found."""
    from tandem.audit.access import record_denied

    user = User.objects.filter(id=user_id, memberships__organisation=organisation).distinct().first()
    if user is None:
        record_denied(request, "User", user_id)
        raise Http404
    return user
