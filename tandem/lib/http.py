from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from tandem.accounts.models import User


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class AuthenticatedHttpRequest(HtmxHttpRequest):
    """The request of a view behind login_required: its user is a real User."""

    user: User
