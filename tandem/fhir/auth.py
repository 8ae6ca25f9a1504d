"""Who is calling the FHIR API: a bearer token (`tandem token create`), never a browser session.

Scopes (tandem.accounts.scopes) narrow what a token may do; they never widen what its user may
see. On top of the `user/` and `system/` scopes that module grants, the FHIR API gives `patient/`
scopes their SMART meaning for a patient's own token: the patient in context is the token's own
patient record, so `patient/*.read` reads that record and nothing else. A clinician's token
carries no patient context, so `patient/` scopes grant a clinician nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from django.http import HttpRequest

from tandem.accounts import scopes
from tandem.accounts.models import ApiToken, User
from tandem.accounts.tokens import authenticate_token
from tandem.audit.access import record_denied
from tandem.fhir.errors import FhirError
from tandem.lib.prepared import PreparedLookup
from tandem.patients.models import Patient


@dataclass(frozen=True)
class Caller:
    user: User
    token: ApiToken
    own_patient: Patient | None  # the portal record of the token's user, if they are a patient
    patient_context_only: bool = False  # only a patient/ scope allowed this interaction
    # The patients this request is about, when it is known to be about them alone (a read, a
    # search naming its patients): the policy then decides for these alone (fhir.policy).
    within: frozenset[int] | None = None
    # What the policy decided during this request (fhir.policy.grants), shared by the copies
    # `replace` makes; never kept beyond the request.
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def own_patient_id(self) -> int | None:
        return self.own_patient.pk if self.own_patient is not None else None


def _challenge(error: str = "") -> dict[str, str]:
    value = 'Bearer realm="tandem-fhir"' + (f', error="{error}"' if error else "")
    return {"WWW-Authenticate": value}


def authenticate(request: HttpRequest) -> Caller:
    """The caller of this request; FhirError 401 without a usable token (a bad one is audited)."""
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise FhirError(
            401, "login", "Send Authorization: Bearer <token> (tandem token create).", headers=_challenge()
        )
    token = authenticate_token(raw)
    if token is None:
        stripped = raw.strip()
        record_denied(request, "ApiToken", stripped[:10] if stripped.startswith(ApiToken.PREFIX) else "")
        raise FhirError(
            401, "login", "The token is unknown, revoked or expired.", headers=_challenge("invalid_token")
        )
    request.user = token.user
    return Caller(user=token.user, token=token, own_patient=own_patient(token.user))


# Every FHIR request looks it up: compiled once (tandem.lib.prepared).
_OWN_PATIENT = PreparedLookup(
    lambda user_id: Patient.objects.select_related("organisation").filter(
        portal_user_id=user_id, is_active=True
    ),
    user_id=int,
)


def own_patient(user: User) -> Patient | None:
    """The active portal record of this user, if they are a patient."""
    return _OWN_PATIENT.first(user_id=user.pk)


def _patient_scope_allows(granted: str, resource: str, interaction: str) -> bool:
    for item in granted.split():
        scope = scopes.parse(item)
        if (
            scope is not None
            and scope.context == "patient"
            and scope.resource in ("*", resource)
            and interaction in scope.interactions
        ):
            return True
    return False


def permits(caller: Caller, resource: str, interaction: str) -> Caller | None:
    """The caller as allowed for `interaction` on `resource` (narrowed to their own record when
    only a patient/ scope allows it), or None when no scope of the token allows it."""
    if scopes.allows(caller.token.scopes, resource, interaction):
        return caller
    if caller.own_patient is not None and _patient_scope_allows(caller.token.scopes, resource, interaction):
        return replace(caller, patient_context_only=True)
    return None


def require(request: HttpRequest, caller: Caller, resource: str, interaction: str) -> Caller:
    """`permits`, or FhirError 403 (audited) naming the scope that would be needed."""
    allowed = permits(caller, resource, interaction)
    if allowed is None:
        record_denied(request, resource, f"scope:{interaction}")
        letter = {"read": "r", "search": "s", "create": "c"}.get(interaction, interaction)
        raise FhirError(
            403,
            "forbidden",
            f"This token's scopes do not allow {interaction} of {resource} (e.g. user/{resource}.{letter}).",
        )
    return allowed
