"""What every router of the JSON API shares: the error body, the error responses each operation
declares, and the scope check.

Every error is {"detail": "…", "errors": {"field.path": ["…"]}}. A patient or object that does
not exist and one the caller may not see get the same 404 body.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Schema
from ninja.errors import HttpError
from pydantic import Field

from tandem.accounts import scopes
from tandem.accounts.models import ApiToken
from tandem.audit.access import record_denied


class Error(Schema):
    detail: str
    errors: dict[str, list[str]] = Field(
        default_factory=dict, description="field path (e.g. content.goals.1.target) → messages"
    )


class ConflictError(Error):
    current_revision: int | None = Field(
        default=None, description="the newest revision, when the conflict is a newer revision"
    )


# The error responses of every operation (400 unreadable body, 401 no or bad credentials,
# 403 scope missing or CSRF failed, 404 not found or not allowed, 422 invalid input) …
ERRORS: dict[int, Any] = {400: Error, 401: Error, 403: Error, 404: Error, 422: Error}
# … and of every write (409: somebody changed it first, or its state forbids the change).
WRITE_ERRORS: dict[int, Any] = {**ERRORS, 409: ConflictError}


def error_body(detail: str, errors: dict[str, list[str]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"detail": detail, "errors": errors or {}, **extra}


def require_scope(request: HttpRequest, resource: str, interaction: str) -> None:
    """403 (audited) when the request came with a token whose scopes do not allow
    `interaction` on `resource`. A browser session carries the user's full access."""
    token = getattr(request, "auth", None)
    if isinstance(token, ApiToken) and not scopes.allows(token.scopes, resource, interaction):
        record_denied(request, resource, f"scope:{interaction}")
        example = "read" if interaction in ("read", "search") else "write"
        raise HttpError(
            403,
            f"This token's scopes do not allow {interaction} of {resource} (e.g. user/{resource}.{example}).",
        )


# Crisis resources in patient-facing responses -------------------------------------------------


class CrisisLine(Schema):
    name: str
    number: str
    how: str = Field(description='e.g. "call or text"')
    hours: str
    emergency: bool = Field(description="the emergency number (911, 999, 000), listed last")


class Crisis(Schema):
    """Whether the app must show crisis resources now. `show_resources: false` means only that
    this submission did not meet the rule; it never means that there is no risk."""

    show_resources: bool
    reason: str = Field(description="why the resources are shown; empty when they are not")
    lines: list[CrisisLine] = Field(description="the patient's crisis lines, in order; empty when not shown")


def crisis_body(patient: Any, *, show: bool, reason: str) -> dict[str, Any]:
    """The crisis part of a response: the patient's lines (tandem.safety.crisis) when shown."""
    if not show:
        return {"show_resources": False, "reason": "", "lines": []}
    from tandem.safety.crisis import resources_for

    lines = [
        {"name": ln.name, "number": ln.number, "how": ln.how, "hours": ln.hours, "emergency": ln.emergency}
        for ln in resources_for(patient).lines
    ]
    return {"show_resources": True, "reason": reason, "lines": lines}


def invalid(field: str, message: str) -> dict[str, Any]:
    """The 422 body for one field at fault."""
    return error_body("The request is not valid.", {field: [message]})
