"""Importing a file of FHIR resources (`tandem import`): NDJSON, one resource a line, or a Bundle.

Each resource has the checks of tandem.fhir.importer, as a transaction Bundle's entries do, and
each is stored whole or not at all, BATCH lines to a commit: new Patients and
QuestionnaireResponses of a chunk in bulk (tandem.fhir.bulk_chunks), anything else — and
whatever the bulk path does not take — one by one in a savepoint each, so a bad line never stops
the others nor leaves half of itself behind. The treat-to-target signals of a chunk's patients
are recomputed once each, after the chunk commits. Patients are imported first (a first pass
over the file), so that the lines after them may refer to them by the sender's id
(`Patient/<id in the file>`) — rewritten to Tandem's — in whatever order the file has them; a
line that refers to a patient whose own line failed fails too, never lands on another patient.

A transaction Bundle is all or nothing, as over HTTP; a batch or collection Bundle is imported
entry by entry like NDJSON lines.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from django.db import transaction

from tandem.fhir.bulk_chunks import BulkStore, Item
from tandem.fhir.errors import FhirError
from tandem.fhir.http import refuse_constant
from tandem.fhir.importer import Imported, Importer, rewrite_references
from tandem.fhir.transaction import Entry, _is_local, _order, parse_entry, run_transaction
from tandem.measures.signals.deferred import deferred_recompute

try:
    import orjson
except ImportError:  # the standard library parses every line then
    orjson = None  # type: ignore[assignment]

BATCH = 500  # resources per commit
MAX_FILE_BUNDLE_BYTES = 200_000_000
Progress = Callable[[int], None]


@dataclass
class Problem:
    where: str  # "line 12", "entry 3"
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class Report:
    created: int = 0
    existing: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.problems)

    def summary(self) -> str:
        return f"{self.created} created, {self.existing} already there, {self.failed} failed"

    def count(self, result: Imported) -> None:
        if result.created:
            self.created += 1
        else:
            self.existing += 1


def _reason(exc: FhirError) -> str:
    parts = []
    for item in exc.issues:
        where = ", ".join(item.get("expression") or [])
        text = item.get("diagnostics", "")
        parts.append(f"{where}: {text}" if where and not text.startswith(where) else text)
    return f"{exc.status} " + "; ".join(parts)


@dataclass
class _Ids:
    """The sender's references (Patient/<their id>, urn:uuid:…) → Tandem's, and those whose
    resource failed to import."""

    found: dict[str, str] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)

    def refuse(self, reference: str) -> bool:
        return _is_local(reference) or reference in self.failed

    def names(self, resource: dict[str, Any], full_url: str = "") -> list[str]:
        own = (
            [f"{resource.get('resourceType')}/{resource['id']}"]
            if isinstance(resource.get("id"), str)
            else []
        )
        return own + ([full_url] if full_url else [])


def _one(
    importer: Importer, resource: Any, ids: _Ids, where: str, if_none_exist: str | None = None
) -> Imported:
    """One resource in its own savepoint; FhirError (nothing of it written) when refused."""
    if not isinstance(resource, dict):
        raise FhirError(400, "structure", "The line is not a JSON object (a FHIR resource).")
    try:
        with transaction.atomic():
            rewritten = rewrite_references(resource, ids.found.get, where, ids.refuse)
            return importer.add(rewritten, if_none_exist)
    except FhirError:
        raise
    except Exception as exc:  # a resource must never stop the others, whatever went wrong
        raise FhirError(
            500, "exception", f"could not be stored ({type(exc).__name__}: {str(exc)[:200]})"
        ) from exc


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield number, "\x00"  # reported as not JSON
                continue
            if text.strip():
                yield number, text


def count_lines(path: Path) -> int:
    return sum(1 for _ in _lines(path))


def _batches(items: Iterator[tuple[int, str]], size: int) -> Iterator[list[tuple[int, str]]]:
    while chunk := list(islice(items, size)):
        yield chunk


def _parse(text: str) -> Any:
    """orjson when it is installed and accepts the line; otherwise (and for the error message)
    the standard library, as strict (no NaN or Infinity)."""
    if orjson is not None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text, parse_constant=refuse_constant)


def import_ndjson(path: Path, importer: Importer, progress: Progress = lambda n: None) -> Report:
    """Two passes over the file (patients, then the rest), BATCH lines at a time: each chunk in
    one transaction, what can be stored in bulk stored together (tandem.fhir.bulk_chunks), the
    rest one by one in a savepoint each; the treat-to-target signals of the chunk's patients
    recomputed once, when it is committed."""
    report = Report()
    ids = _Ids()
    bulk = BulkStore(importer)
    bad_lines: set[int] = set()
    for patients_pass in (True, False):
        for chunk in _batches(_lines(path), BATCH):
            items: list[Item] = []
            for number, text in chunk:
                if number in bad_lines:
                    continue
                try:
                    resource = _parse(text)
                except ValueError as exc:
                    bad_lines.add(number)
                    report.problems.append(Problem(f"line {number}", f"not valid JSON ({exc})"))
                    progress(1)
                    continue
                is_patient = isinstance(resource, dict) and resource.get("resourceType") == "Patient"
                if is_patient == patients_pass:
                    items.append(Item(number, [], resource))
            with deferred_recompute(), transaction.atomic():
                _chunk(importer, bulk, items, ids, report, progress)
    report.problems.sort(key=lambda p: int(p.where.split()[1]))
    return report


def _chunk(
    importer: Importer, bulk: BulkStore, items: list[Item], ids: _Ids, report: Report, progress: Progress
) -> None:
    """One chunk: references rewritten, the common case stored in bulk, the rest one by one."""
    ready: list[Item] = []
    slow: list[Item] = []
    chunk_names = {n for item in items if isinstance(item.resource, dict) for n in ids.names(item.resource)}
    for item in items:
        resource = item.resource
        if not isinstance(resource, dict):
            slow.append(item)
            continue
        item.names = ids.names(resource)
        root = str(resource.get("resourceType") or "")
        resolve = _Resolver(ids.found)
        try:
            rewritten = rewrite_references(resource, resolve, root, ids.refuse)
        except FhirError:
            slow.append(item)
            continue
        if any(r in chunk_names for r in resolve.unresolved):
            slow.append(item)  # refers to a resource of this chunk: after it is stored
        else:
            ready.append(Item(item.line, item.names, rewritten))
    done = bulk.store(ready)
    for item in ready:
        result = done.stored.get(item.line)
        if result is not None:
            ids.found.update(dict.fromkeys(item.names, result.reference))
            report.count(result)
            progress(1)
    originals = {item.line: item for item in items}
    for item in sorted([*slow, *done.left], key=lambda i: i.line):
        _stored_one(importer, originals[item.line], ids, report, progress)


class _Resolver:
    """ids.found.get, remembering the references it could not resolve."""

    def __init__(self, found: dict[str, str]) -> None:
        self.found = found
        self.unresolved: list[str] = []

    def __call__(self, reference: str) -> str | None:
        found = self.found.get(reference)
        if found is None:
            self.unresolved.append(reference)
        return found


def _stored_one(importer: Importer, item: Item, ids: _Ids, report: Report, progress: Progress) -> None:
    resource = item.resource
    names = ids.names(resource) if isinstance(resource, dict) else []
    root = str(resource.get("resourceType") or "") if isinstance(resource, dict) else ""
    try:
        result = _one(importer, resource, ids, root)
    except FhirError as exc:
        ids.failed.update(names)
        report.problems.append(Problem(f"line {item.line}", _reason(exc)))
    else:
        ids.found.update(dict.fromkeys(names, result.reference))
        report.count(result)
    progress(1)


def import_bundle(path: Path, importer: Importer, progress: Progress = lambda n: None) -> Report:
    report = Report()
    if path.stat().st_size > MAX_FILE_BUNDLE_BYTES:
        report.problems.append(Problem("file", f"larger than {MAX_FILE_BUNDLE_BYTES} bytes; send NDJSON"))
        return report
    try:
        bundle = json.loads(path.read_bytes(), parse_constant=refuse_constant)
    except ValueError as exc:
        report.problems.append(Problem("file", f"not valid JSON ({exc})"))
        return report
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        report.problems.append(Problem("file", "not a Bundle"))
        return report
    raw = bundle.get("entry") or []
    entries: list[Entry] = []
    for n, item in enumerate(raw if isinstance(raw, list) else []):
        try:
            entries.append(parse_entry(n, item, need_request=False))
        except FhirError as exc:
            report.problems.append(Problem(f"entry {n}", _reason(exc)))
    if bundle.get("type") == "transaction":
        if report.problems:
            return report
        try:
            results = run_transaction(importer, entries)
        except FhirError as exc:
            report.problems.append(Problem("transaction", _reason(exc) + " — nothing was imported"))
            return report
        for result in results.values():
            report.count(result)
        progress(len(entries))
        return report
    try:
        ordered = _order(entries)
    except FhirError as exc:
        report.problems.append(Problem("file", _reason(exc)))
        return report
    ids = _Ids()
    with transaction.atomic():
        for entry in ordered:
            names = ids.names(entry.resource, entry.full_url)
            try:
                result = _one(importer, entry.resource, ids, entry.root, entry.if_none_exist)
            except FhirError as exc:
                ids.failed.update(names)
                report.problems.append(Problem(f"entry {entry.index}", _reason(exc)))
            else:
                ids.found.update(dict.fromkeys(names, result.reference))
                report.count(result)
            progress(1)
    return report
