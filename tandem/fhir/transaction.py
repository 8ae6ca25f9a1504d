"""`POST /fhir/` with a Bundle: `transaction` (all or nothing) or `batch` (each entry on its own).

Entries are creates (`request.method` POST to the resource's type, `request.ifNoneExist`
honoured) of a Patient and what comes with them, imported through tandem.fhir.importer — the
same code as `tandem import`. In a transaction, an entry may refer to another by its fullUrl
(`urn:uuid:…`); entries are stored in the order their references need, in one database
transaction: the first entry that fails answers an OperationOutcome naming the entry and the
element, and nothing is written. The answer is a transaction-response (batch-response) Bundle
with each entry's status and location, in the order of the request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from tandem.audit.access import record_denied
from tandem.fhir.auth import authenticate
from tandem.fhir.errors import FhirError, bad_request
from tandem.fhir.http import (
    ACCEPTED_TYPES,
    FHIR_JSON,
    declared_length,
    depth_exceeds,
    refuse_constant,
    respond,
)
from tandem.fhir.importer import Imported, Importer, located, rewrite_references
from tandem.fhir.interactions import base_url

MAX_ENTRIES = 1000
MAX_BUNDLE_BYTES = 20_000_000
KINDS = ("transaction", "batch")


@dataclass(frozen=True)
class Entry:
    index: int
    full_url: str
    resource: dict[str, Any]
    if_none_exist: str | None

    @property
    def root(self) -> str:
        return f"Bundle.entry[{self.index}].resource"

    @property
    def label(self) -> str:
        return f"entry {self.index} ({self.resource.get('resourceType')})"


def process(request: HttpRequest) -> HttpResponse:
    caller = authenticate(request)
    bundle = read_bundle(request)
    kind, entries = parse_bundle(bundle)
    importer = Importer(request, caller)
    if kind == "transaction":
        results = run_transaction(importer, entries)
        answers = [_answer(request, results[e.index]) for e in entries]
    else:
        answers = [_answer(request, run_one(importer, e)) for e in entries]
    body = {"resourceType": "Bundle", "type": f"{kind}-response", "entry": answers}
    return respond(body, 200)


def read_bundle(request: HttpRequest) -> dict[str, Any]:
    """The body as a JSON object: bounded (MAX_BUNDLE_BYTES, read from the stream so that the
    per-form limit of ordinary requests does not apply), as strict as a single resource."""
    content_type = request.content_type or ""
    if content_type not in ACCEPTED_TYPES:
        raise FhirError(
            415, "not-supported", f"Send the Bundle as {FHIR_JSON}, not {content_type or 'nothing'}."
        )
    if declared_length(request) > MAX_BUNDLE_BYTES:
        raise FhirError(413, "too-costly", f"The Bundle is larger than {MAX_BUNDLE_BYTES} bytes.")
    raw = request.read(MAX_BUNDLE_BYTES + 1)
    if len(raw) > MAX_BUNDLE_BYTES:
        raise FhirError(413, "too-costly", f"The Bundle is larger than {MAX_BUNDLE_BYTES} bytes.")
    if not raw.strip():
        raise bad_request("The body is empty; send a Bundle.", code="structure")
    if depth_exceeds(raw, 60):
        raise bad_request("The JSON is nested deeper than 60 levels.", code="structure")
    try:
        body = json.loads(raw, parse_constant=refuse_constant)
    except UnicodeDecodeError:
        raise bad_request("The body is not UTF-8.", code="structure") from None
    except ValueError as exc:
        raise bad_request(f"The body is not valid JSON: {exc}", code="structure") from None
    if not isinstance(body, dict):
        raise bad_request("The body must be a JSON object (a Bundle).", code="structure")
    return body


def parse_bundle(bundle: dict[str, Any], *, need_request: bool = True) -> tuple[str, list[Entry]]:
    if bundle.get("resourceType") != "Bundle":
        raise bad_request("POST /fhir/ takes a Bundle.", expression="resourceType", code="structure")
    kind = bundle.get("type")
    if kind not in KINDS:
        raise bad_request(
            f"Bundle.type must be transaction or batch, not {str(kind)[:30]!r}.", expression="Bundle.type"
        )
    raw = bundle.get("entry") or []
    if not isinstance(raw, list):
        raise bad_request("Bundle.entry must be a list.", expression="Bundle.entry", code="structure")
    if len(raw) > MAX_ENTRIES:
        raise FhirError(
            413, "too-costly", f"The Bundle has {len(raw)} entries; send at most {MAX_ENTRIES} per Bundle."
        )
    entries = [parse_entry(n, item, need_request=need_request) for n, item in enumerate(raw)]
    seen: set[str] = set()
    for entry in entries:
        if entry.full_url and entry.full_url in seen:
            raise bad_request(
                f"entry {entry.index}: fullUrl {entry.full_url[:80]} is used twice.",
                expression=f"Bundle.entry[{entry.index}].fullUrl",
            )
        seen.add(entry.full_url)
    return str(kind), entries


def parse_entry(n: int, item: Any, *, need_request: bool = True) -> Entry:
    where = f"Bundle.entry[{n}]"
    if not isinstance(item, dict) or not isinstance(item.get("resource"), dict):
        raise bad_request(f"entry {n}: needs a resource.", expression=f"{where}.resource", code="structure")
    resource = item["resource"]
    name = resource.get("resourceType")
    request = item.get("request")
    if request is None and not need_request:
        request = {"method": "POST", "url": name}
    if not isinstance(request, dict):
        raise bad_request(
            f"entry {n}: needs request (method POST, url {name}).", expression=f"{where}.request"
        )
    method = request.get("method")
    if method != "POST":
        raise FhirError(
            422,
            "not-supported",
            f"entry {n}: only creates (POST) are imported, not {str(method)[:10]}.",
            expression=f"{where}.request.method",
        )
    url = str(request.get("url") or "")
    if url.split("?", 1)[0].strip("/") != name:
        raise bad_request(
            f"entry {n}: request.url {url[:60]!r} must be the resource's type, {name}.",
            expression=f"{where}.request.url",
        )
    full_url = item.get("fullUrl") or ""
    condition = request.get("ifNoneExist")
    if not isinstance(full_url, str) or (condition is not None and not isinstance(condition, str)):
        raise bad_request(
            f"entry {n}: fullUrl and ifNoneExist are strings.", expression=where, code="structure"
        )
    return Entry(n, full_url, resource, condition or None)


def _is_local(reference: str) -> bool:
    return reference.startswith(("urn:uuid:", "urn:oid:"))


def _order(entries: list[Entry]) -> list[Entry]:
    """The entries so that each comes after those it refers to (otherwise as sent)."""
    by_url = {e.full_url: e.index for e in entries if e.full_url}
    needs = {
        e.index: {by_url[r] for r in _references(e.resource) if r in by_url} - {e.index} for e in entries
    }
    done: set[int] = set()
    ordered: list[Entry] = []
    while len(ordered) < len(entries):
        ready = [e for e in entries if e.index not in done and needs[e.index] <= done]
        if not ready:
            stuck = min(i for i in needs if i not in done)
            raise bad_request(
                f"entry {stuck}: its references go round in a circle.", expression=f"Bundle.entry[{stuck}]"
            )
        for entry in ready:
            done.add(entry.index)
            ordered.append(entry)
    return ordered


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for k, v in value.items() if k != "reference" for r in _references(v)]
    if isinstance(value, list):
        return [r for item in value for r in _references(item)]
    return []


def run_transaction(importer: Importer, entries: list[Entry]) -> dict[int, Imported]:
    """All entries in one database transaction; FhirError for the first that fails."""
    mapping: dict[str, str] = {}
    results: dict[int, Imported] = {}
    failed: tuple[Entry, FhirError] | None = None
    with transaction.atomic():
        for entry in _order(entries):
            try:
                resource = rewrite_references(entry.resource, mapping.get, entry.root, _is_local)
                results[entry.index] = importer.add(resource, entry.if_none_exist)
            except FhirError as exc:
                failed = (entry, exc)
                transaction.set_rollback(True)
                break
            if entry.full_url:
                mapping[entry.full_url] = results[entry.index].reference
    if failed is not None:
        where, error = failed
        _audit_denial_again(importer, where, error)
        raise located(error, where.root, where.label)
    return results


def run_one(importer: Importer, entry: Entry) -> Imported | FhirError:
    """One entry in its own transaction (a savepoint inside a larger one): what was stored, or
    the error, nothing of it written."""
    try:
        with transaction.atomic():
            resource = rewrite_references(entry.resource, lambda r: None, entry.root, _is_local)
            return importer.add(resource, entry.if_none_exist)
    except FhirError as exc:
        _audit_denial_again(importer, entry, exc)
        return located(exc, entry.root, entry.label)


def _audit_denial_again(importer: Importer, entry: Entry, exc: FhirError) -> None:
    """A refusal audited inside the rolled-back transaction was rolled back with it."""
    if exc.status in (403, 404, 409):
        record_denied(importer.request, str(entry.resource.get("resourceType"))[:40], f"import:{entry.index}")


def _answer(request: HttpRequest, result: Imported | FhirError) -> dict[str, Any]:
    if isinstance(result, FhirError):
        phrase = HTTPStatus(result.status).phrase
        return {"response": {"status": f"{result.status} {phrase}", "outcome": result.outcome}}
    return {
        "fullUrl": base_url(request) + result.reference,
        "response": {
            "status": "201 Created" if result.created else "200 OK",
            "location": result.reference,
        },
    }
