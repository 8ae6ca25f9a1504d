"""Reading requests and writing responses of the FHIR API: `application/fhir+json`, bodies
bounded in size and nesting, JSON that Python's parser would accept but FHIR does not (NaN,
Infinity) refused."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from tandem.fhir.errors import FhirError, bad_request

FHIR_JSON = "application/fhir+json"
ACCEPTED_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")
MAX_BODY_BYTES = 1_000_000  # one resource; Bundles of an import get their own limit
MAX_DEPTH = 40  # a QuestionnaireResponse nests items a few levels; nothing we read needs more


def respond(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type=f"{FHIR_JSON}; charset=utf-8",
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_response(exc: FhirError) -> HttpResponse:
    return respond(exc.outcome, exc.status, exc.headers)


def refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number FHIR allows")


def declared_length(request: HttpRequest) -> int:
    """The Content-Length the client sent (0 when missing or not a number)."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def read_json(request: HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object, or FhirError naming what is wrong with it."""
    content_type = request.content_type or ""
    if content_type not in ACCEPTED_TYPES and request.META.get("CONTENT_LENGTH") not in (None, "", "0"):
        raise FhirError(
            415, "not-supported", f"Send the resource as {FHIR_JSON}, not {content_type or 'nothing'}."
        )
    if declared_length(request) > MAX_BODY_BYTES:
        raise FhirError(413, "too-costly", f"The body is larger than {MAX_BODY_BYTES} bytes.")
    try:
        raw = request.body
    except RequestDataTooBig:
        raise FhirError(413, "too-costly", f"The body is larger than {MAX_BODY_BYTES} bytes.") from None
    if len(raw) > MAX_BODY_BYTES:
        raise FhirError(413, "too-costly", f"The body is larger than {MAX_BODY_BYTES} bytes.")
    if not raw.strip():
        raise bad_request("The body is empty; send a FHIR resource.", code="structure")
    if depth_exceeds(raw, MAX_DEPTH):
        raise bad_request(f"The JSON is nested deeper than {MAX_DEPTH} levels.", code="structure")
    try:
        body = json.loads(raw, parse_constant=refuse_constant)
    except UnicodeDecodeError:
        raise bad_request("The body is not UTF-8.", code="structure") from None
    except ValueError as exc:
        raise bad_request(f"The body is not valid JSON: {exc}", code="structure") from None
    if not isinstance(body, dict):
        raise bad_request("The body must be a JSON object (a FHIR resource).", code="structure")
    return body


def depth_exceeds(raw: bytes, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than `limit`: checked before parsing, so a
    hostile body cannot exhaust the parser's recursion."""
    depth = 0
    in_string = False
    escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False
