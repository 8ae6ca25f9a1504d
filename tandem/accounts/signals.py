from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from tandem.accounts.actions import audit_auth_event, record_login_session
from tandem.accounts.middleware import LAST_SEEN, SIGNED_IN
from tandem.audit.models import Action


@receiver(user_logged_in)
def on_login(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    import time

    # Django has already rotated the session key (cycle_key) on login.
    now = time.time()
    request.session[SIGNED_IN] = now
    request.session[LAST_SEEN] = now
    if request.session.session_key is None:
        request.session.save()
    record_login_session(user, request)
    audit_auth_event(Action.LOGIN, user=user, request=request)


@receiver(user_logged_out)
def on_logout(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_auth_event(Action.LOGOUT, user=user, request=request)


@receiver(user_login_failed)
def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    label = str(credentials.get("username") or credentials.get("email") or "")[:254]
    audit_auth_event(Action.LOGIN_FAILED, label=label, request=request)
