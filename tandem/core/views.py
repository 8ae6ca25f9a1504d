from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from tandem.accounts.access import is_clinician, is_org_admin, is_patient


def home(request: HttpRequest) -> HttpResponse:
    """Send each person to their own start page; signed-out visitors to the login page."""
    user = request.user
    if not user.is_authenticated:
        return redirect("login")
    if is_clinician(user):
        return redirect("patients:list")
    if is_patient(user):
        return redirect("portal:home")
    if is_org_admin(user):
        return redirect("manage:members")
    return render(request, "core/no_role.html")


def healthz(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def error_403(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


def error_404(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    # No context processors that touch the database: the error may be the database.
    from django.template import loader

    return HttpResponse(loader.get_template("errors/500.html").render({}), status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A stale or tampered form: say so plainly (the form may have been open for a long time)."""
    return render(request, "errors/403.html", {"csrf": True}, status=403)
