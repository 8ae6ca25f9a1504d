"""FHIR Bulk Data in a synthetic database (called by benchmarks/run.py; runnable alone).

- Export: a Patient-level `$export` of every exported type by the synthetic clinician with the
  largest caseload (the first psychiatric consultant), run as the worker runs it — in a child
  process, whose peak RSS is reported (getrusage). Throughput in resources/s; target ≥ 2000/s
  with a peak RSS under 500 MB. Ceiling: serialising the same resources again with orjson (the
  stdlib json when orjson is not installed), i.e. the cost of writing them without reading the
  database, applying the policy or mapping rows to FHIR.
- Import: the exported Patients and QuestionnaireResponses, given new MRNs and identifiers, imported
  by the benchmark care manager with `tandem import`'s code (validation, scoring, the actions'
  audit rows, follow-up work) into a copy of the database, in a child process. Target ≥ 2000
  resources/s. Ceiling: parsing the same NDJSON with orjson (or json).

The database itself is left as it was, but for the audit rows of the export (and its token).

    .venv/bin/python benchmarks/fhir_bulk.py --database /tmp/scratch.sqlite3 [--patients 500] [--seed 1]

Prints one JSON object (the last line) with both results.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

EXPORT_TARGET = 2000.0  # resources/s
RSS_TARGET_MB = 500.0
IMPORT_TARGET = 2000.0  # resources/s
IMPORTED_TYPES = ("Patient", "QuestionnaireResponse")

try:
    import orjson

    def _dumps(value: Any) -> bytes:
        return orjson.dumps(value)

    _loads = orjson.loads
    CEILING_LIBRARY = "orjson"
except ImportError:  # the ceiling is then the standard library's

    def _dumps(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()

    _loads = json.loads
    CEILING_LIBRARY = "json"


def _peak_rss_mb() -> float:
    """This process's peak resident set size. Linux's getrusage() ru_maxrss keeps, across the
    fork and exec that start a child, the parent's size at the fork; VmHWM in /proc/self/status
    is the high-water mark of this program alone (getrusage where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _database_path() -> Path:
    from django.db import connection

    return Path(str(connection.settings_dict["NAME"]))


def _child(args: list[str], var_dir: Path, database: Path) -> dict[str, Any]:
    env = {**os.environ, "TANDEM_VAR_DIR": str(var_dir)}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--database", str(database), *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    try:
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))
    except (IndexError, ValueError):
        return {"error": (done.stderr or done.stdout).strip()[-800:]}


def exporter(seed: int) -> Any:
    from my_patients import bench_clinician, consultant

    return consultant(seed) or bench_clinician(seed)


def export_throughput(seed: int, keep_files_in: Path | None = None) -> dict[str, Any]:
    """Run one export in a worker process; with `keep_files_in`, its NDJSON files are left there
    (for the import benchmark)."""
    from datetime import timedelta

    from django.utils import timezone

    from tandem.accounts.actions import do_create_api_token
    from tandem.fhir.bulk_export import exportable_types
    from tandem.fhir.models import ExportJob, ExportLevel

    user = exporter(seed)
    token, _ = do_create_api_token(user, scopes="user/*.read", expires_at=timezone.now() + timedelta(hours=2))
    job = ExportJob.objects.create(
        user=user, token=token, level=ExportLevel.PATIENT, types=exportable_types(), request_url="benchmark"
    )
    with tempfile.TemporaryDirectory(prefix="tandem-export-") as tmp:
        var_dir = keep_files_in or Path(tmp)
        child = _child(["--child-export", str(job.pk)], var_dir, _database_path())
        job.refresh_from_db()
        figures: dict[str, Any] = {"exporter": user.email, **child}
        if "error" not in child:
            files = var_dir / "exports" / str(job.pk)
            figures |= _export_figures(job, files)
    ExportJob.objects.filter(pk=job.pk).delete()
    token.delete()
    return figures


def _export_figures(job: Any, files: Path) -> dict[str, Any]:
    count = sum(item["count"] for item in job.output)
    resources = [
        _loads(line) for item in job.output for line in (files / item["file"]).read_bytes().splitlines()
    ]
    started = time.perf_counter()
    for item in resources:
        _dumps(item)
    ceiling_s = max(time.perf_counter() - started, 1e-9)
    return {
        "status": job.status,
        "resources": count,
        "by_type": {item["type"]: item["count"] for item in job.output},
        "ceiling_per_second": round(len(resources) / ceiling_s),
        "ceiling_library": CEILING_LIBRARY,
        "directory": str(files),
    }


def import_throughput(seed: int, export_dir: Path) -> dict[str, Any]:
    """Import the exported Patients and QuestionnaireResponses (new MRNs and identifiers) into a
    copy of the database, as the benchmark care manager."""
    from my_patients import bench_clinician

    user = bench_clinician(seed)
    stamp = str(int(time.time()))
    with tempfile.TemporaryDirectory(prefix="tandem-import-") as tmp:
        source = Path(tmp) / "import.ndjson"
        lines = _import_file(export_dir, source, stamp)
        raw = source.read_bytes().splitlines()
        started = time.perf_counter()
        for line in raw:
            _loads(line)
        ceiling_s = max(time.perf_counter() - started, 1e-9)
        copy = Path(tmp) / "copy.sqlite3"
        with sqlite3.connect(_database_path()) as original, sqlite3.connect(copy) as target:
            original.backup(target)
        child = _child(["--child-import", str(source), "--as", user.email], Path(tmp) / "var", copy)
    figures = {"importer": user.email, "lines": lines, **child}
    figures["ceiling_per_second"] = round(lines / ceiling_s)
    figures["ceiling_library"] = CEILING_LIBRARY
    return figures


def _import_file(export_dir: Path, target: Path, stamp: str) -> int:
    """The export's Patients and responses as another system would send them: its own MRNs
    and response identifiers, references by its own (the exported) ids."""
    lines = 0
    with target.open("w", encoding="utf-8") as out:
        for name in IMPORTED_TYPES:
            path = export_dir / f"{name}.ndjson"
            if not path.exists():
                continue
            for raw in path.read_bytes().splitlines():
                item = json.loads(raw)
                if name == "Patient":
                    mr = {
                        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]
                    }
                    item["identifier"] = [
                        {"type": mr, "system": "urn:bench:ehr", "value": f"B{stamp}-{item['id']}"}
                    ]
                    item.pop("managingOrganization", None)
                else:
                    item["identifier"] = {"system": "urn:bench:responses", "value": f"{stamp}-{item['id']}"}
                out.write(json.dumps(item) + "\n")
                lines += 1
    return lines


# --- the child processes (the worker, the import command) ------------------------------------


def _child_export(job_id: str) -> dict[str, Any]:
    from tandem.fhir.bulk_export import run_export

    started = time.perf_counter()
    status = run_export(job_id)
    seconds = time.perf_counter() - started
    from tandem.fhir.models import ExportJob

    job = ExportJob.objects.get(pk=job_id)
    count = sum(item["count"] for item in job.output)
    return {
        "status": status,
        "seconds": round(seconds, 2),
        "per_second": round(count / seconds) if seconds else 0,
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def _run_import_child(path: str, email: str) -> dict[str, Any]:
    import importlib

    from tandem.accounts.models import ApiToken, User
    from tandem.fhir.auth import Caller
    from tandem.fhir.bulk_import import import_ndjson
    from tandem.fhir.importer import Importer

    command = importlib.import_module("tandem.fhir.management.commands.import")
    user = User.objects.get(email=email)
    caller = Caller(user, ApiToken(user=user, scopes=command.SCOPES), None)
    importer = Importer(command.command_request(user), caller)
    started = time.perf_counter()
    report = import_ndjson(Path(path), importer)
    seconds = time.perf_counter() - started
    imported = report.created + report.existing
    return {
        "seconds": round(seconds, 2),
        "created": report.created,
        "existing": report.existing,
        "failed": report.failed,
        "first_failures": [str(p) for p in report.problems[:3]],
        "per_second": round((imported + report.failed) / seconds) if seconds else 0,
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def run_all(seed: int) -> dict[str, Any]:
    """Both benchmarks on the database Django is set up with (for benchmarks/run.py)."""
    with tempfile.TemporaryDirectory(prefix="tandem-bulk-") as tmp:
        exported = export_throughput(seed, keep_files_in=Path(tmp))
        imported = (
            import_throughput(seed, Path(exported["directory"]))
            if "directory" in exported
            else {"error": "no export"}
        )
    exported.pop("directory", None)
    exported["passed"] = (
        exported.get("per_second", 0) >= EXPORT_TARGET and exported.get("peak_rss_mb", 1e9) < RSS_TARGET_MB
    )
    imported["passed"] = imported.get("per_second", 0) >= IMPORT_TARGET and imported.get("failed", 1) == 0
    return {
        "export": {**exported, "target_per_second": EXPORT_TARGET, "target_rss_mb": RSS_TARGET_MB},
        "import": {**imported, "target_per_second": IMPORT_TARGET},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", type=Path, required=True, help="SQLite file (built when missing)")
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child-export", help=argparse.SUPPRESS)
    parser.add_argument("--child-import", help=argparse.SUPPRESS)
    parser.add_argument("--as", dest="as_user", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from run import ensure_population, setup_django

    setup_django(args.database)
    if args.child_export:
        print(json.dumps(_child_export(args.child_export)))
        return 0
    if args.child_import:
        print(json.dumps(_run_import_child(args.child_import, args.as_user)))
        return 0
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    ensure_population(args.patients, args.seed)
    results = run_all(args.seed)
    for name in ("export", "import"):
        item = results[name]
        print(
            f"{name}: {item.get('per_second', '?')} resources/s (ceiling {item.get('ceiling_per_second', '?')}/s "
            f"with {CEILING_LIBRARY}), peak RSS {item.get('peak_rss_mb', '?')} MB — "
            f"{'PASS' if item['passed'] else 'FAIL'}",
            file=sys.stderr,
        )
    print(json.dumps(results))
    return 0 if results["export"]["passed"] and results["import"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
