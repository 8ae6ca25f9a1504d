"""Every write to patients, care teams, consents and break-glass: one transaction, audited."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.actions import do_notify
from tandem.accounts.models import Membership, Organisation, Role, User
from tandem.audit.actions import audit_patient_event as _audit
from tandem.audit.models import Action
from tandem.patients.models import PATIENT_FIELDS, BreakGlass, CareTeamMember, Consent, Patient, active_on


@transaction.atomic
def do_create_patient(
    *,
    organisation: Organisation,
    fields: dict[str, Any],
    acting_user: User | None,
    request: HttpRequest | None = None,
) -> Patient:
    patient = Patient.objects.create(
        organisation=organisation, **{k: v for k, v in fields.items() if k in PATIENT_FIELDS}
    )
    _audit(acting_user, Action.CREATE, "Patient", patient.pk, patient, request=request)
    return patient


@transaction.atomic
def do_update_patient(
    patient: Patient,
    *,
    fields: dict[str, Any],
    acting_user: User,
    request: HttpRequest | None = None,
    role: str = "",
) -> list[str]:
    changed = [k for k in PATIENT_FIELDS if k in fields and getattr(patient, k) != fields[k]]
    if not changed:
        return []
    for name in changed:
        setattr(patient, name, fields[name])
    patient.updated_at = timezone.now()
    patient.save(update_fields=[*changed, "updated_at"])
    _audit(
        acting_user, Action.UPDATE, "Patient", patient.pk, patient, request=request, role=role, fields=changed
    )
    return changed


class TeamError(ValueError):
    pass


@transaction.atomic
def do_add_care_team_member(
    patient: Patient,
    *,
    user: User,
    role: str,
    start: date | None = None,
    acting_user: User | None,
    request: HttpRequest | None = None,
) -> CareTeamMember:
    membership = (
        Membership.objects.filter(user=user, role=role, is_active=True).select_related("organisation").first()
    )
    if membership is None:
        raise TeamError(f"{user} does not hold the role {Role(role).label} in any organisation")
    start = start or timezone.localdate()
    if CareTeamMember.objects.filter(active_on(start), patient=patient, user=user, role=role).exists():
        raise TeamError(f"{user} is already on the care team as {Role(role).label}")
    member = CareTeamMember.objects.create(
        patient=patient,
        user=user,
        role=role,
        organisation=membership.organisation,
        start=start,
        added_by=acting_user,
    )
    _audit(
        acting_user,
        Action.CREATE,
        "CareTeamMember",
        member.pk,
        patient,
        request=request,
        member=user.email,
        role_on_team=role,
    )
    return member


@transaction.atomic
def do_end_care_team_member(
    member: CareTeamMember, *, acting_user: User, end: date | None = None, request: HttpRequest | None = None
) -> None:
    member.end = max(end or timezone.localdate(), member.start)
    member.save(update_fields=["end"])
    _audit(
        acting_user,
        Action.UPDATE,
        "CareTeamMember",
        member.pk,
        member.patient,
        request=request,
        change="ended",
        end=member.end.isoformat(),
    )


class ConsentError(ValueError):
    pass


@transaction.atomic
def do_record_consent(
    patient: Patient,
    *,
    categories: list[str],
    grantee_user: User | None = None,
    grantee_organisation: Organisation | None = None,
    start: date | None = None,
    end: date | None = None,
    purpose: str = "",
    acting_user: User | None,
    request: HttpRequest | None = None,
) -> Consent:
    if not categories:
        raise ConsentError("choose at least one category to share")
    if (grantee_user is None) == (grantee_organisation is None):
        raise ConsentError("name either a clinician or an organisation")
    if grantee_organisation is not None and grantee_organisation.pk == patient.organisation_id:
        raise ConsentError(
            "the patient's own organisation needs no consent; add the clinician to the care team"
        )
    start = start or timezone.localdate()
    if end is not None and end < start:
        raise ConsentError("the end date is before the start date")
    consent = Consent.objects.create(
        patient=patient,
        grantee_user=grantee_user,
        grantee_organisation=grantee_organisation,
        categories=sorted(set(categories)),
        start=start,
        end=end,
        purpose=purpose,
        recorded_by=acting_user,
    )
    _audit(
        acting_user,
        Action.CREATE,
        "Consent",
        consent.pk,
        patient,
        request=request,
        grantee=consent.grantee_label,
        categories=consent.categories,
    )
    return consent


@transaction.atomic
def do_revoke_consent(
    consent: Consent, *, reason: str, acting_user: User, request: HttpRequest | None = None, role: str = ""
) -> None:
    if consent.revoked_at is not None:
        return  # revoking twice changes nothing
    consent.revoked_at = timezone.now()
    consent.revoked_by = acting_user
    consent.revocation_reason = reason[:300]
    consent.save(update_fields=["revoked_at", "revoked_by", "revocation_reason"])
    _audit(
        acting_user,
        Action.UPDATE,
        "Consent",
        consent.pk,
        consent.patient,
        request=request,
        role=role,
        change="revoked",
        reason=reason[:300],
    )


@transaction.atomic
def do_break_glass(
    patient: Patient, *, user: User, reason: str, request: HttpRequest | None = None
) -> BreakGlass:
    """Open a record in an emergency. Audited, and the care team and the org admins are told."""
    now = timezone.now()
    glass = BreakGlass.objects.create(
        patient=patient,
        user=user,
        reason=reason,
        started_at=now,
        expires_at=now + timedelta(hours=settings.BREAK_GLASS_HOURS),
    )
    _audit(
        user,
        Action.BREAK_GLASS,
        "Patient",
        patient.pk,
        patient,
        request=request,
        reason=reason,
        expires_at=glass.expires_at.isoformat(),
    )
    today = timezone.localdate()
    team = User.objects.filter(
        Q(care_teams__patient=patient) & active_on(today, start="care_teams__start", end="care_teams__end")
    )
    admins = User.objects.filter(
        memberships__organisation_id=patient.organisation_id,
        memberships__role=Role.ORG_ADMIN,
        memberships__is_active=True,
    )
    recipients = {u.pk: u for u in [*team, *admins] if u.pk != user.pk}.values()
    do_notify(
        recipients,
        f"{user.display_name} broke the glass to open the record of {patient.name} (MRN {patient.mrn}). "
        f"Reason: {reason}",
        link=settings.SITE_URL + reverse("audit:org_log") + f"?patient={patient.mrn}",
        email_subject="Tandem: emergency access to a patient record",
        email_body=(
            "A clinician used emergency (break-glass) access to open a patient record that you are "
            f"responsible for. Sign in to Tandem to see who, why and when: {settings.SITE_URL}/notifications/"
        ),
    )
    return glass


class PortalInviteError(ValueError):
    pass


@transaction.atomic
def do_invite_to_portal(
    patient: Patient, *, acting_user: User, request: HttpRequest | None = None, role: str = ""
) -> User:
    """Give the patient a portal account (by their e-mail) and send a link to set a password."""
    from tandem.accounts.actions import do_create_user, send_set_password_email

    if patient.portal_user_id is not None:
        raise PortalInviteError("The patient already has a portal account.")
    email = patient.email.strip().lower()
    if not email:
        raise PortalInviteError("Add the patient's email address first (Edit details → Email).")
    if User.objects.filter(email=email).exists():
        raise PortalInviteError("Another account already uses this email address.")
    user = do_create_user(
        email=email,
        full_name=f"{patient.given_name} {patient.family_name}",
        password=None,
        acting_user=acting_user,
        request=request,
    )
    patient.portal_user = user
    patient.save(update_fields=["portal_user"])
    _audit(
        acting_user,
        Action.UPDATE,
        "Patient",
        patient.pk,
        patient,
        request=request,
        role=role,
        change="portal account created",
    )
    send_set_password_email(user, welcome=True)
    return user
