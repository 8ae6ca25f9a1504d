"""Every write to accounts: users, memberships, sessions, notifications, API tokens."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from tandem.accounts.models import (
    ApiToken,
    LoginSession,
    Membership,
    Notification,
    Organisation,
    User,
    hash_token,
)
from tandem.accounts.tasks import send_email
from tandem.audit.actions import record_audit
from tandem.audit.models import Action


def _org_id(org: Organisation | None) -> int | None:
    return org.pk if org is not None else None


@transaction.atomic
def do_create_user(
    *,
    email: str,
    full_name: str,
    password: str | None,
    organisation: Organisation | None = None,
    roles: Iterable[str] = (),
    credentials: str = "",
    acting_user: User | None,
    request: HttpRequest | None = None,
) -> User:
    user = User.objects.create_user(email, password, full_name=full_name, credentials=credentials)
    if password is None:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    for role in roles:
        assert organisation is not None
        Membership.objects.create(user=user, organisation=organisation, role=role)
    record_audit(
        actor=acting_user,
        action=Action.CREATE,
        entity_type="User",
        entity_id=user.pk,
        organisation=_org_id(organisation),
        request=request,
        role="org_admin" if acting_user else "",
        actor_label="system",
        extra={"email": user.email, "roles": list(roles)},
    )
    return user


def end_all_sessions(user: User, *, keep: str | None = None) -> int:
    """End every signed-in session of the user (but `keep`, the caller's own, when given)."""
    keys = list(
        LoginSession.objects.filter(user=user)
        .exclude(session_key=keep or "")
        .values_list("session_key", flat=True)
    )
    Session.objects.filter(session_key__in=keys).delete()
    LoginSession.objects.filter(session_key__in=keys).delete()
    return len(keys)


@transaction.atomic
def do_deactivate_user(
    user: User, *, organisation: Organisation, acting_user: User, request: HttpRequest | None = None
) -> None:
    """Deactivate a user's memberships in the organisation; with none left, the account itself."""
    from tandem.patients.models import CareTeamMember

    Membership.objects.filter(user=user, organisation=organisation, is_active=True).update(is_active=False)
    CareTeamMember.objects.filter(user=user, organisation=organisation, end__isnull=True).update(
        end=timezone.localdate()
    )
    if not Membership.objects.filter(user=user, is_active=True).exists():
        user.is_active = False
        user.save(update_fields=["is_active"])
    ended = end_all_sessions(user)
    record_audit(
        actor=acting_user,
        action=Action.UPDATE,
        entity_type="User",
        entity_id=user.pk,
        organisation=organisation.pk,
        request=request,
        role="org_admin",
        extra={"change": "deactivated", "sessions_ended": ended},
    )


@transaction.atomic
def do_change_password(
    user: User, new_password: str | None, *, request: HttpRequest | None = None, reason: str = "changed"
) -> None:
    """Set a new password (None: already set, as by the reset form) and end every other session
    of the user (ASVS 7.4.3)."""
    if new_password is not None:
        user.set_password(new_password)
        user.save(update_fields=["password"])
    keep = request.session.session_key if request is not None and hasattr(request, "session") else None
    ended = end_all_sessions(user, keep=keep)
    record_audit(
        actor=user,
        action=Action.UPDATE,
        entity_type="User",
        entity_id=user.pk,
        request=request,
        extra={"change": f"password {reason}", "sessions_ended": ended},
    )


def record_login_session(user: User, request: HttpRequest) -> None:
    key = request.session.session_key
    if key:
        LoginSession.objects.update_or_create(
            session_key=key,
            defaults={
                "user": user,
                "ip": request.META.get("REMOTE_ADDR") or None,
                "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
            },
        )


def do_notify(
    users: Iterable[User], text: str, *, link: str = "", email_subject: str = "", email_body: str = ""
) -> None:
    """In-app notification to each user and, when a subject is given, an e-mail sent by the worker
    once the caller commits. The e-mail body must carry no patient detail: it says to sign in."""
    recipients = list({u.pk: u for u in users if u.is_active}.values())
    Notification.objects.bulk_create([Notification(user=u, text=text[:500], link=link) for u in recipients])
    emails = sorted(u.email for u in recipients)
    if email_subject and emails:
        transaction.on_commit(lambda: send_email.enqueue(emails, email_subject, email_body))


@transaction.atomic
def do_create_api_token(
    user: User, *, scopes: str, expires_at: datetime | None, name: str = "", acting_user: User | None = None
) -> tuple[ApiToken, str]:
    raw = ApiToken.new_raw_value()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw[:10],
        token_hash=hash_token(raw),
        scopes=scopes,
        expires_at=expires_at,
    )
    record_audit(
        actor=acting_user,
        actor_label="console",
        action=Action.CREATE,
        entity_type="ApiToken",
        entity_id=token.pk,
        extra={
            "user": user.email,
            "scopes": scopes,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return token, raw


@transaction.atomic
def do_revoke_api_token(token: ApiToken, *, acting_user: User | None = None) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record_audit(
        actor=acting_user,
        actor_label="console",
        action=Action.UPDATE,
        entity_type="ApiToken",
        entity_id=token.pk,
        extra={"change": "revoked", "user": token.user.email},
    )


def audit_auth_event(
    action: str, *, user: Any = None, label: str = "", request: HttpRequest | None = None, **extra: Any
) -> None:
    from tandem.accounts.access import primary_role

    record_audit(
        actor=user,
        actor_label=label,
        action=action,
        entity_type="Session",
        request=request,
        role=primary_role(user) if user is not None else "",
        outcome="failure" if action == Action.LOGIN_FAILED else "success",
        extra=extra,
    )


def send_set_password_email(user: User, *, welcome: bool) -> None:
    """E-mail a one-time link to set a password (after the transaction commits, by the worker)."""
    from django.conf import settings
    from django.contrib.auth.tokens import default_token_generator
    from django.template.loader import render_to_string
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    site = urlparse(settings.SITE_URL)
    context = {
        "email": user.email,
        "protocol": site.scheme or "https",
        "domain": site.netloc,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
    }
    name = "welcome" if welcome else "password_reset"
    subject = render_to_string(f"accounts/email/{name}_subject.txt", context).strip()
    body = render_to_string(f"accounts/email/{name}.txt", context)
    recipient = [user.email]
    transaction.on_commit(lambda: send_email.enqueue(recipient, subject, body))
