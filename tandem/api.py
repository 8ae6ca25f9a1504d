"""The JSON API at /api/ (django-ninja), OpenAPI at /api/openapi.json.

Authentication, tried in this order:
- `Authorization: Bearer tdm_…`: an API token (`tandem token create`), limited by its SMART-style
  scopes (tandem.accounts.scopes). A bad, revoked or expired token is refused (401, audited)
  even when a browser session comes with it.
- the browser session, with Django's CSRF check on unsafe methods (send X-CSRFToken).

Either way `request.user` is the user, so that the same access functions and audit rows serve
the UI and the API. Each app adds a Router from its `api.py` below.

The interactive docs (/api/docs) are served only when "ninja" is in INSTALLED_APPS: only then
does django-ninja serve Swagger UI from its own static files; otherwise it loads it from a CDN.
"""

from __future__ import annotations

from typing import Any

import pydantic
from django.apps import apps
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as RequestValidationError
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from tandem.accounts.models import ApiToken
from tandem.accounts.tokens import authenticate_token
from tandem.audit.access import record_denied
from tandem.handoffs.api import router as messages_router
from tandem.lib.api import error_body
from tandem.measures.api import router as questionnaires_router
from tandem.medications.api import router as medications_router
from tandem.medications.side_effect_api import router as side_effects_router
from tandem.plans.api import router as plans_router


class InvalidToken(AuthenticationError):
    def __init__(self) -> None:
        super().__init__(message="The token is unknown, revoked or expired.")


class BearerToken(HttpBearer):
    def __call__(self, request: HttpRequest) -> ApiToken | None:
        scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.authenticate(request, raw)

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken:
        found = authenticate_token(token)
        if found is None:
            record_denied(request, "ApiToken", token.strip()[:10] if token.strip().startswith("tdm_") else "")
            raise InvalidToken
        request.user = found.user
        return found


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class BrowserSession(APIKeyCookie):
    """The signed-in browser session; unsafe methods must pass Django's CSRF check."""

    param_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> Any:
        if not request.user.is_authenticated:
            return None
        return self.authenticate(request, request.COOKIES.get(self.param_name))

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise HttpError(403, "CSRF check failed: send the X-CSRFToken header with the csrftoken cookie.")
        return request.user


api = NinjaAPI(
    title="Tandem API",
    version="1",
    description=(
        "The shared treatment plan and the patient record of Tandem. Authenticate with "
        "`Authorization: Bearer tdm_…` (`tandem token create --user EMAIL --scope user/CarePlan.read`) "
        'or a browser session. Every error is `{"detail": …, "errors": {field: [messages]}}`; '
        "a patient you may not see is 404, like one that does not exist."
    ),
    urls_namespace="api",
    auth=[BearerToken(), BrowserSession()],
    docs=Swagger(settings={"validatorUrl": None}),  # no badge fetched from swagger.io
    docs_url="/docs" if apps.is_installed("ninja") else None,
)


def _respond(request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
    return api.create_response(request, body, status=status)


def _path(loc: tuple[Any, ...] | list[Any]) -> str:
    """("body", "payload", "content", "goals", 1, "target") → "content.goals.1.target"."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[2:] if len(parts) > 2 else parts[1:]
    elif parts and parts[0] in ("path", "query", "header", "cookie", "form"):
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or "__all__"


def _messages(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for error in errors:
        message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
        out.setdefault(_path(error.get("loc", ())), []).append(message)
    return out


@api.exception_handler(RequestValidationError)
def request_invalid(request: HttpRequest, exc: RequestValidationError) -> HttpResponse:
    return _respond(request, 422, error_body("The request is not valid.", _messages(exc.errors)))


@api.exception_handler(pydantic.ValidationError)
def content_invalid(request: HttpRequest, exc: pydantic.ValidationError) -> HttpResponse:
    errors = _messages([dict(e) for e in exc.errors()])
    return _respond(request, 422, error_body("The request is not valid.", errors))


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    invalid = isinstance(exc, InvalidToken)
    detail = str(exc) if invalid else "Sign in, or send Authorization: Bearer <token>."
    response = _respond(request, 401, error_body(detail))
    response["WWW-Authenticate"] = 'Bearer realm="tandem"' + (', error="invalid_token"' if invalid else "")
    return response


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _respond(request, exc.status_code, error_body(str(exc)))


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _respond(request, 404, error_body("Not found."))


api.add_router("", plans_router)
api.add_router("", medications_router)
api.add_router("", side_effects_router)
api.add_router("", questionnaires_router)
api.add_router("", messages_router)
