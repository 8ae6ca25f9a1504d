"""The routes of /fhir/: glue from HTTP to tandem.fhir.interactions. Token-authenticated, so no
session and no CSRF; every error is an OperationOutcome."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from tandem.fhir import interactions
from tandem.fhir.errors import FhirError, not_found
from tandem.fhir.http import error_response

View = Callable[..., HttpResponse]


def fhir_view(*methods: str) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise FhirError(
                        405,
                        "not-supported",
                        f"{request.method} is not allowed here; use {' or '.join(methods)}.",
                        headers={"Allow": ", ".join(methods)},
                    )
                return view(request, *args, **kwargs)
            except FhirError as exc:
                return error_response(exc)
            except Http404:
                return error_response(not_found())

        return wrapper

    return decorate


def _items(query: Any) -> list[tuple[str, str]]:
    return [(key, value) for key, values in query.lists() for value in values]


@fhir_view("GET")
def metadata(request: HttpRequest) -> HttpResponse:
    return interactions.capabilities(request)


@fhir_view("GET", "POST")
def type_root(request: HttpRequest, resource_type: str) -> HttpResponse:
    if request.method == "POST":
        return interactions.create(request, resource_type)
    return interactions.search(request, resource_type, _items(request.GET))


@fhir_view("POST")
def type_search(request: HttpRequest, resource_type: str) -> HttpResponse:
    """POST <Type>/_search: the parameters form-encoded in the body (and any in the URL)."""
    forms = ("application/x-www-form-urlencoded", "multipart/form-data")
    if request.body.strip() and request.content_type not in forms:
        raise FhirError(415, "not-supported", "Send search parameters as application/x-www-form-urlencoded.")
    return interactions.search(request, resource_type, _items(request.GET) + _items(request.POST))


@fhir_view("GET")
def instance(request: HttpRequest, resource_type: str, resource_id: str) -> HttpResponse:
    return interactions.read(request, resource_type, resource_id)
