"""The FHIR interactions — read, search, create, capabilities — over the registered types.

Each is parse → authenticate and check the scope → access (the type's queryset applies the
policy) → act → audit → respond. Reads and searches write one READ audit row per patient
touched; a read of an id that does not exist or may not be seen is the same 404, audited as a
denial; a search naming a patient the caller may not see answers an empty Bundle and audits
the denial, exactly as a patient that does not exist.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from tandem.audit.access import record_denied
from tandem.fhir.auth import Caller, authenticate, permits, require
from tandem.fhir.capability import capability_statement
from tandem.fhir.errors import FhirError, bad_request, not_found
from tandem.fhir.http import read_json, respond
from tandem.fhir.registry import ID_PATTERN, REGISTRY, Page, ResourceType, named_patients
from tandem.fhir.search import Query
from tandem.patients.models import Patient

_TYPE_NAME = re.compile(r"^[A-Z][A-Za-z]{1,63}$")
_ID = re.compile(rf"^{ID_PATTERN}$")


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("fhir:metadata")).removesuffix("metadata")


def resource_type(name: str, interaction: str) -> ResourceType:
    rtype = REGISTRY.get(name)
    if rtype is None:
        shown = name if _TYPE_NAME.match(name) else "this"
        raise FhirError(404, "not-supported", f"Tandem serves no {shown} resources; see /fhir/metadata.")
    if interaction not in rtype.interactions:
        raise FhirError(405, "not-supported", f"{name} does not support {interaction}; see /fhir/metadata.")
    return rtype


def capabilities(request: HttpRequest) -> HttpResponse:
    return respond(capability_statement(base_url(request).rstrip("/")))


def read(request: HttpRequest, name: str, rid: str) -> HttpResponse:
    rtype = resource_type(name, "read")
    caller = require(request, authenticate(request), name, "read")
    row = rtype.read(caller, rid) if _ID.match(rid) else None
    if row is None:
        record_denied(request, name, rid[:64])
        raise not_found()
    rtype.audit(request, caller, [row], "read")
    return respond(rtype.to_fhir(row))


def search(request: HttpRequest, name: str, items: list[tuple[str, str]]) -> HttpResponse:
    rtype = resource_type(name, "search-type")
    caller = require(request, authenticate(request), name, "search")
    query = rtype.parse(items)
    page = rtype.search(rtype.narrowed(caller, query), query)
    _audit_patient_probes(request, caller, rtype, query)
    included = _includes(request, caller, rtype, query, page.rows)
    rtype.audit(request, caller, page.rows, "search")
    return respond(_searchset(request, rtype, query, page, included))


def create(request: HttpRequest, name: str) -> HttpResponse:
    rtype = resource_type(name, "create")
    caller = require(request, authenticate(request), name, "create")
    body = read_json(request)
    if body.get("resourceType") != name:
        raise bad_request(
            f"resourceType must be {name} at this address.", expression="resourceType", code="structure"
        )
    condition = request.headers.get("If-None-Exist")
    location = base_url(request) + name + "/"
    if condition is not None:
        existing = _existing(caller, rtype, condition)
        if existing is not None:
            rtype.audit(request, caller, [existing], "read")
            resource = rtype.to_fhir(existing)
            return respond(resource, 200, {"Location": location + resource["id"]})
    row, created = rtype.create(request, caller, body)
    resource = rtype.to_fhir(row)
    if not created:  # the same resource sent before: what was stored then
        rtype.audit(request, caller, [row], "read")
    return respond(resource, 201 if created else 200, {"Location": location + resource["id"]})


def _existing(caller: Caller, rtype: ResourceType, condition: str) -> Any | None:
    items = parse_qsl(condition, keep_blank_values=True)
    if not items:
        raise bad_request("If-None-Exist must be search parameters, e.g. identifier=system|value.")
    try:
        query = rtype.parse(items)
    except FhirError as exc:
        exc.issues[0]["expression"] = ["If-None-Exist"]
        raise
    if not query.filters:
        raise bad_request("If-None-Exist names no search parameter.", expression="If-None-Exist")
    query.count, query.total = 2, False
    rows = rtype.search(caller, query).rows
    if len(rows) > 1:
        raise FhirError(412, "duplicate", "If-None-Exist matches more than one resource.")
    return rows[0] if rows else None


def _audit_patient_probes(request: HttpRequest, caller: Caller, rtype: ResourceType, query: Query) -> None:
    """A search naming patients the caller may not see: each such patient audited as a denial."""
    if rtype.need is None:
        return
    named = named_patients(rtype, query)
    if not named:
        return
    hidden = named - rtype.visible_among(caller, named)
    if not hidden:
        return
    existing = set(Patient.objects.filter(id__in=hidden).values_list("id", flat=True))
    for pid in sorted(hidden):
        record_denied(request, rtype.name, f"patient={pid}", patient=pid if pid in existing else None)


def _includes(
    request: HttpRequest, caller: Caller, rtype: ResourceType, query: Query, rows: list[Any]
) -> list[tuple[ResourceType, Any]]:
    """The resources `_include` asks for, each under its own type's access policy and scope
    (a target the token may not read is left out, as SMART asks) and audited as a read."""
    wanted: dict[str, set[str]] = {}
    for key in query.includes:
        spec = rtype.includes[key]
        for row in rows:
            wanted.setdefault(spec.target, set()).update(spec.ids(row))
    found: list[tuple[ResourceType, Any]] = []
    for target, ids in wanted.items():
        ttype = REGISTRY[target]
        reader = permits(caller, target, "read")
        if reader is None or not ids:
            continue
        trows = ttype.fetch(reader, ids)
        ttype.audit(request, reader, trows, "read")
        found += [(ttype, r) for r in trows]
    return found


def _searchset(
    request: HttpRequest,
    rtype: ResourceType,
    query: Query,
    page: Page,
    included: list[tuple[ResourceType, Any]],
) -> dict[str, Any]:
    base = base_url(request)
    kept = [(k, v) for k, v in query.echo if k not in ("_count", "_offset")]

    def link(offset: int) -> str:
        paging = [("_count", str(query.count))] + ([("_offset", str(offset))] if offset else [])
        return f"{base}{rtype.name}?{urlencode(kept + paging)}"

    links = [{"relation": "self", "url": link(query.offset)}]
    if page.more:
        links.append({"relation": "next", "url": link(query.offset + query.count)})
    if query.offset:
        links.append({"relation": "previous", "url": link(max(query.offset - query.count, 0))})
    entries = []
    for row in page.rows:
        resource = rtype.to_fhir(row)
        entries.append(
            {
                "fullUrl": f"{base}{rtype.name}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
        )
    for ttype, row in included:
        resource = ttype.to_fhir(row)
        entries.append(
            {
                "fullUrl": f"{base}{ttype.name}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "include"},
            }
        )
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if page.total is not None:
        bundle["total"] = page.total
    bundle["link"] = links
    if entries:
        bundle["entry"] = entries
    return bundle
