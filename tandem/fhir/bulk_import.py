"""Importing a file of FHIR resources (`tandem import`): NDJSON, one resource a line, or a Bundle.

Each resource has the checks of tandem.fhir.importer, as a transaction Bundle's entries do, and
each is stored whole or not at all, BATCH lines to a commit: new Patients and
QuestionnaireResponses of a chunk in bulk (tandem.fhir.bulk_chunks), anything else — and
whatever the bulk path does not take — one by one in a savepoint each, so a bad line never stops
the others nor leaves half of itself behind. The treat-to-target signals of a chunk's patients
are recomputed once each, after the chunk commits. The responses of the second pass are checked
and scored a few chunks ahead in a second process (tandem.fhir.bulk_ahead) where one can be
had; the errors, rows and audit are the same without it. Patients are imported first (a first pass
over the file), so that the lines after them may refer to them by the sender's id
(`Patient/<id in the file>`) — rewritten to Tandem's — in whatever order the file has them; a
line that refers to a patient whose own line failed fails too, never lands on another patient.

A transaction Bundle is all or nothing, as over HTTP; a batch or collection Bundle is imported
entry by entry like NDJSON lines.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from tandem.fhir.bulk_ahead import Ahead, Outbox
from tandem.fhir.bulk_chunks import BulkStore, Item
from tandem.fhir.errors import FhirError
from tandem.fhir.http import refuse_constant
from tandem.fhir.importer import Imported, Importer, rewrite_references
from tandem.fhir.transaction import Entry, _is_local, _order, parse_entry, run_transaction
from tandem.measures.actions import Prepared
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


def import_ndjson(
    path: Path, importer: Importer, progress: Progress = lambda n: None, *, ahead: bool = True
) -> Report:
    """Two passes over the file (patients, then the rest), BATCH lines at a time: each chunk in
    one transaction, what can be stored in bulk stored together (tandem.fhir.bulk_chunks), the
    rest one by one in a savepoint each; the treat-to-target signals of the chunk's patients
    recomputed once, when it is committed. With `ahead`, the responses of the second pass are
    checked and scored a chunk ahead in a second process (tandem.fhir.bulk_ahead) where one
    can be had."""
    run = _NdjsonImport(importer, progress)
    with _collector_between_chunks() as between:
        for chunk in _batches(_lines(path), BATCH):
            between()
            run.chunk(chunk, patients_pass=True)
        helper = Ahead.start(run.prepare_ahead(path)) if ahead and run.others else None
        try:
            for chunk in _batches(_lines(path), BATCH):
                between()
                run.chunk(chunk, patients_pass=False, handed=helper.next() if helper else None)
        finally:
            if helper is not None:
                helper.close()
    run.report.problems.sort(key=lambda p: int(p.where.split()[1]))
    return run.report


@contextmanager
def _collector_between_chunks() -> Iterator[Callable[[], None]]:
    """Python's cyclic garbage collector paused while a chunk is worked on, and run on the
    young objects between chunks: a chunk allocates hundreds of thousands of small objects, and
    the collections they would trigger walk everything alive, again and again (a fifth of the
    import's time). Reference counting frees almost all of it anyway. The collector is restored
    as it was, whatever happens."""
    was_enabled = gc.isenabled()

    def between() -> None:
        if was_enabled:
            gc.collect(1)

    gc.disable()
    try:
        yield between
    finally:
        if was_enabled:
            gc.enable()


# line → (its digest, the resource rewritten, checked and scored, its row's values or None)
Handed = dict[int, tuple[bytes, dict[str, Any], Prepared, tuple[Any, ...] | None]]


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


class _NdjsonImport:
    """One NDJSON import: what is known so far (the sender's ids, the lines that are not JSON,
    the report) and the bulk store."""

    def __init__(self, importer: Importer, progress: Progress) -> None:
        self.importer = importer
        self.progress = progress
        self.report = Report()
        self.ids = _Ids()
        self.bulk = BulkStore(importer)
        self.bad_lines: set[int] = set()
        self.others = 0  # lines of the second pass, as counted in the first

    def chunk(
        self, chunk: list[tuple[int, str]], *, patients_pass: bool, handed: Handed | None = None
    ) -> None:
        """A chunk's lines of this pass, in one transaction. `handed`: its responses already
        checked and scored by the second process (used for the lines it read as they are here)."""
        items: list[Item] = []
        ahead: Handed = {}
        for number, text in chunk:
            if number in self.bad_lines:
                continue
            try:
                resource = _parse(text)
            except ValueError as exc:
                self.bad_lines.add(number)
                self.report.problems.append(Problem(f"line {number}", f"not valid JSON ({exc})"))
                self.progress(1)
                continue
            is_patient = isinstance(resource, dict) and resource.get("resourceType") == "Patient"
            if is_patient != patients_pass:
                self.others += not is_patient
                continue
            items.append(Item(number, [], resource))
            if handed and number in handed and handed[number][0] == _digest(text):
                ahead[number] = handed[number]  # read here as it was there
        with deferred_recompute(), transaction.atomic():
            self._store(items, ahead)

    def _store(self, items: list[Item], handed: Handed) -> None:
        """References rewritten, the common case stored in bulk, the rest one by one."""
        ids = self.ids
        ready: list[Item] = []
        slow: list[Item] = []
        chunk_names = {
            n for item in items if isinstance(item.resource, dict) for n in ids.names(item.resource)
        }
        for item in items:
            resource = item.resource
            if not isinstance(resource, dict):
                slow.append(item)
                continue
            item.names = ids.names(resource)
            if item.line in handed:  # rewritten ahead, each of its references resolved
                ready.append(Item(item.line, item.names, handed[item.line][1]))
                continue
            resolve = _Resolver(ids.found)
            try:
                rewritten = rewrite_references(resource, resolve, _root(resource), ids.refuse)
            except FhirError:
                slow.append(item)
                continue
            if any(r in chunk_names for r in resolve.unresolved):
                slow.append(item)  # refers to a resource of this chunk: after it is stored
            else:
                ready.append(Item(item.line, item.names, rewritten))
        done = self.bulk.store(
            ready,
            {line: h[2] for line, h in handed.items()},
            {id(h[2].response): h[3] for h in handed.values() if h[3] is not None},
        )
        for item in ready:
            result = done.stored.get(item.line)
            if result is not None:
                ids.found.update(dict.fromkeys(item.names, result.reference))
                self.report.count(result)
                self.progress(1)
        originals = {item.line: item for item in items}
        for item in sorted([*slow, *done.left], key=lambda i: i.line):
            self._one_by_one(originals[item.line])

    def _one_by_one(self, item: Item) -> None:
        resource = item.resource
        names = self.ids.names(resource) if isinstance(resource, dict) else []
        root = _root(resource) if isinstance(resource, dict) else ""
        try:
            result = _one(self.importer, resource, self.ids, root)
        except FhirError as exc:
            self.ids.failed.update(names)
            self.report.problems.append(Problem(f"line {item.line}", _reason(exc)))
        else:
            self.ids.found.update(dict.fromkeys(names, result.reference))
            self.report.count(result)
        self.progress(1)

    # --- the second pass's responses, a chunk ahead in a second process ----------------------

    def prepare_ahead(self, path: Path) -> Callable[[Outbox], None]:
        """The work of the second process (forked now, once the patients are in): each chunk's
        responses whose references all resolve to what the first pass stored, checked and
        scored as bulk_chunks does, without a query — what it learnt of their patients is read
        here, before the fork. While answers wait to be taken (this process is the slower),
        their rows' values are computed there too."""
        patients = {
            int(ref.removeprefix("Patient/"))
            for ref in self.ids.found.values()
            if ref.startswith("Patient/") and ref.removeprefix("Patient/").isdigit()
        }
        self.bulk.learn(patients)
        found, refuse, bad_lines, bulk = dict(self.ids.found), self.ids.refuse, set(self.bad_lines), self.bulk

        def work(outbox: Outbox) -> None:
            for chunk in _batches(_lines(path), BATCH):
                items: list[Item] = []
                digests: dict[int, bytes] = {}
                for number, text in chunk:
                    resource = None if number in bad_lines else _parse_or_none(text)
                    if (
                        not isinstance(resource, dict)
                        or resource.get("resourceType") != "QuestionnaireResponse"
                    ):
                        continue
                    resolve = _Resolver(found)
                    try:
                        rewritten = rewrite_references(resource, resolve, _root(resource), refuse)
                    except FhirError:
                        continue
                    if not resolve.unresolved:
                        items.append(Item(number, [], rewritten))
                        digests[number] = _digest(text)
                ready, _ = bulk.prepare_responses(items, now=timezone.now(), known_only=True)
                rows = outbox.waiting() > 0
                outbox.send(
                    {
                        item.line: (
                            digests[item.line],
                            item.resource,
                            prepared,
                            _row(bulk, prepared) if rows else None,
                        )
                        for item, prepared in ready
                    }
                )
                gc.collect(1)

        return work


PLAIN = (str, int, float, bool, bytes, type(None))


def _row(bulk: BulkStore, prepared: Prepared) -> tuple[Any, ...] | None:
    """The values of the response's row, as the importing process would send the database
    (None when one is not a plain value, which it then computes itself)."""
    row = bulk.rows.values(prepared.response)
    return row if all(isinstance(v, PLAIN) for v in row) else None


def _root(resource: dict[str, Any]) -> str:
    return str(resource.get("resourceType") or "")


def _parse_or_none(text: str) -> Any:
    try:
        return _parse(text)
    except ValueError:
        return None


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
