from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from tandem.accounts.access import is_patient, needs_mfa

LAST_SEEN = "tandem_last_seen"
SIGNED_IN = "tandem_signed_in"
# Write the idle clock at most this often, so that a burst of requests is not a burst of writes.
TOUCH_EVERY = 30


class SessionTimeoutMiddleware:
    """End a session after the idle time-out (15 min for clinicians by default, longer for
    patients) or the absolute time-out, whichever comes first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            last = request.session.get(LAST_SEEN, now)
            signed_in = request.session.get(SIGNED_IN, now)
            # Clinicians and administrators get the shorter time-out, whatever else they are.
            staff = needs_mfa(request.user)
            minutes = (
                settings.PATIENT_IDLE_TIMEOUT_MINUTES
                if not staff and is_patient(request.user)
                else settings.IDLE_TIMEOUT_MINUTES
            )
            if now - last > minutes * 60 or now - signed_in > settings.ABSOLUTE_TIMEOUT_HOURS * 3600:
                logout(request)
                if request.htmx:  # type: ignore[attr-defined]
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = reverse("login") + "?timeout=1"
                    return response
                return redirect(reverse("login") + "?timeout=1")
            if SIGNED_IN not in request.session:
                request.session[SIGNED_IN] = now
            if now - last >= TOUCH_EVERY or LAST_SEEN not in request.session:
                request.session[LAST_SEEN] = now
        return self.get_response(request)


MFA_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/healthz")


class RequireMFAMiddleware:
    """Clinicians and administrators must pass a TOTP check before anything else when
    TANDEM_REQUIRE_MFA is on."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            settings.REQUIRE_MFA
            and user.is_authenticated
            and not user.is_verified()  # type: ignore[attr-defined]
            and not request.path.startswith(MFA_EXEMPT_PREFIXES)
            and needs_mfa(user)
        ):
            return redirect(reverse("accounts:mfa") + "?" + urlencode({"next": request.get_full_path()}))
        return self.get_response(request)
