"""The routes of /fhir/: glue from HTTP to tandem.fhir.interactions. Token-authenticated, so no
session and no CSRF; every error is an OperationOutcome."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from tandem.fhir import bulk_http, interactions
from tandem.fhir import transaction as transaction_bundle
from tandem.fhir.errors import FhirError, not_found
from tandem.fhir.http import error_response
from tandem.fhir.models import ExportLevel

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


# --- Bulk Data export and transaction Bundles -------------------------------------------------


@fhir_view("GET")
def export_system(request: HttpRequest) -> HttpResponse:
    return bulk_http.kick_off(request, ExportLevel.SYSTEM)


@fhir_view("GET")
def export_patients(request: HttpRequest) -> HttpResponse:
    return bulk_http.kick_off(request, ExportLevel.PATIENT)


@fhir_view("GET")
def export_group(request: HttpRequest, group_id: str) -> HttpResponse:
    return bulk_http.kick_off(request, ExportLevel.GROUP, group_id)


@fhir_view("GET", "DELETE")
def export_status(request: HttpRequest, job_id: Any) -> HttpResponse:
    return bulk_http.status(request, job_id)


@fhir_view("GET")
def export_file(request: HttpRequest, job_id: Any, file_name: str) -> HttpResponse:
    # Streamed from disk (a FileResponse): the files may be large.
    return cast(HttpResponse, bulk_http.file(request, job_id, file_name))


@fhir_view("POST")
def system_root(request: HttpRequest) -> HttpResponse:
    """POST /fhir/: a transaction or batch Bundle."""
    return transaction_bundle.process(request)
