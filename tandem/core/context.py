from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from tandem.accounts.access import is_clinician, is_org_admin, patient_crisis_line


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    context: dict[str, Any] = {"profile": settings.PROFILE, "crisis_line": settings.CRISIS_LINE}
    if user is None or not user.is_authenticated:
        return context
    from tandem.accounts.models import Notification

    crisis_line = patient_crisis_line(user)
    if crisis_line:
        context["crisis_line"] = crisis_line  # the patient's organisation's own line
    context.update(
        nav_clinician=is_clinician(user),
        nav_admin=is_org_admin(user),
        nav_patient=crisis_line is not None,
        nav_unread=Notification.objects.filter(user=user, read_at__isnull=True).count(),
    )
    return context
