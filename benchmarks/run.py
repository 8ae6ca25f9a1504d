"""Tandem's benchmarks (`make bench`), on their own SQLite database under var/bench/.

Builds the synthetic population once (`tandem synth --patients 100000 --seed 1`; later runs
reuse it), then times the pages named below through the whole Django stack, prints a table and
writes the numbers to benchmarks/results/<timestamp>.json.

    .venv/bin/python benchmarks/run.py [--patients N] [--seed S] [--requests 200] [--explain]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=100_000, help="population to build (default 100000)")
    parser.add_argument("--seed", type=int, default=1, help="synthetic seed (default 1)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests first (default 20)")
    parser.add_argument(
        "--database",
        type=Path,
        default=None,
        help="SQLite file (default var/bench/bench-v<synthetic data version>.sqlite3)",
    )
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN QUERY PLAN of each page")
    return parser.parse_args(argv)


def setup_django(database: Path) -> None:
    database.parent.mkdir(parents=True, exist_ok=True)
    # Settings read the environment once, at django.setup(): set everything before.
    os.environ["TANDEM_DATABASE_URL"] = f"sqlite:///{database.resolve()}"
    os.environ["TANDEM_PROFILE"] = "demo"
    os.environ["TANDEM_REQUIRE_MFA"] = "false"  # force_login does not pass a second factor
    os.environ["TANDEM_DEBUG"] = "false"
    os.environ["DJANGO_SETTINGS_MODULE"] = "tandem.settings"
    import django

    django.setup()


def ensure_population(patients: int, seed: int) -> float | None:
    """Seconds taken to build the population, or None when this seed was already there."""
    from django.core.management import call_command

    from tandem.accounts.models import Organisation
    from tandem.accounts.synth import org_slug
    from tandem.patients.models import Patient

    if Organisation.objects.filter(slug=org_slug(seed, 1)).exists():
        present = Patient.objects.filter(mrn__startswith=f"S{seed}-").count()
        print(f"reusing the synthetic population of seed {seed}: {present} patients")
        return None
    print(f"building the synthetic population: {patients} patients, seed {seed}")
    started = time.perf_counter()
    call_command("synth", patients=patients, seed=seed)
    print(f"built in {time.perf_counter() - started:.1f} s")
    # The steady state the pages are measured in: every patient's treat-to-target signals
    # computed and the alerts they call for raised, as the worker's periodic job leaves them.
    from tandem.measures.signals.job import evaluate_all

    signals = time.perf_counter()
    print(f"treat-to-target signals: {evaluate_all()} in {time.perf_counter() - signals:.1f} s")
    seconds = time.perf_counter() - started
    return seconds


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.database is None:
        # The file is named after the synthetic data's version, so that a population built before
        # a capability added its data is never measured as if it had it.
        sys.path.insert(0, str(ROOT))
        from tandem.core.seeding import SYNTH_VERSION

        args.database = ROOT / "var" / "bench" / f"bench-v{SYNTH_VERSION}.sqlite3"
    setup_django(args.database)

    import collab
    import django
    import fhir_api
    import fhir_bulk
    import measures
    import medications
    import my_patients
    import plan_pages
    import registry
    import therapy
    from django.core.management import call_command
    from harness import BenchmarkError, explain, table, with_ceiling

    from tandem.patients.models import Patient

    call_command("migrate", verbosity=0, interactive=False)
    build_seconds = ensure_population(args.patients, args.seed)
    try:
        ceiling, pages = my_patients.run(args.seed, requests=args.requests, warmup=args.warmup)
        plans = plan_pages.run(
            args.seed, my_patients.bench_clinician(args.seed), requests=args.requests, warmup=args.warmup
        )
        pages += with_ceiling(plans, ceiling)
        clinician = my_patients.bench_clinician(args.seed)
        pages += with_ceiling(
            [medications.medication_page(args.seed, clinician, requests=args.requests, warmup=args.warmup)],
            ceiling,
        )
        pages += with_ceiling(
            [
                therapy.therapy_page(args.seed, clinician, requests=args.requests, warmup=args.warmup),
                therapy.practice_submit(args.seed, requests=args.requests, warmup=args.warmup),
                measures.trend_page(args.seed, clinician, requests=args.requests, warmup=args.warmup),
                measures.portal_submission(args.seed, requests=args.requests, warmup=args.warmup),
                collab.inbox_page(args.seed, clinician, requests=args.requests, warmup=args.warmup),
                registry.caseload_page(args.seed, clinician, requests=args.requests, warmup=args.warmup),
                registry.dashboard_page(args.seed, clinician, requests=args.requests, warmup=args.warmup),
            ],
            ceiling,
        )
        pages += with_ceiling(
            fhir_api.reads_and_searches(args.seed, requests=args.requests, warmup=args.warmup), ceiling
        )
        fhir_mixed = fhir_api.mixed_throughput(args.seed, f"sqlite:///{args.database.resolve()}")
        signals = measures.signals_all()
        pdc = medications.pdc_all()
        dosing = medications.dose_logging(f"sqlite:///{args.database.resolve()}")
        dosing_pg = dose_logging_postgres()
        pages_pg = subprocess_json(
            "pages_pg.py", "--patients", str(args.patients), "--requests", str(args.requests)
        )
        # Last: the import works on a copy of the whole database, whose writing would disturb
        # whatever ran next.
        bulk = fhir_bulk.run_all(args.seed)
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    results = [ceiling, *pages]
    print()
    print(table(results))
    pdc_ok = pdc["total_s"] < 30
    print(
        f"\nPDC for {pdc['patients']} patients from {pdc['fills']} fills: {pdc['total_s']:.1f} s "
        f"(reading {pdc['read_s']:.1f} s) — target < 30 s: {'PASS' if pdc_ok else 'FAIL'}"
    )
    dosing_ok = dosing["per_second"] >= 300 and dosing["p95_ms"] < 50 and dosing["failures"] == 0
    print(
        f"dose logging over HTTP ({dosing['clients']} clients, audit on, SQLite synchronous=FULL): "
        f"{dosing['recorded']} durable writes in {dosing['seconds']:.1f} s = {dosing['per_second']:.0f}/s, "
        f"p50 {dosing['p50_ms']:.1f} ms, p95 {dosing['p95_ms']:.1f} ms, {dosing['failures']} failures "
        f"— target ≥ 300/s and p95 < 50 ms: {'PASS' if dosing_ok else 'FAIL'}"
    )
    print(
        f"treat-to-target signals for {signals['patients']} patients ({signals['signals']} signals): "
        f"first run {signals['first_s']} s ({signals['first_raised']} alerts raised), repeat run "
        f"{signals['repeat_s']} s — target < {signals['target_s']:.0f} s: {'PASS' if signals['passed'] else 'FAIL'}"
    )
    if "error" in dosing_pg:
        dosing_pg_ok = False
        print(f"dose logging on PostgreSQL: NOT MEASURED — {dosing_pg['error']}")
    else:
        dosing_pg_ok = (
            dosing_pg["per_second"] >= 300 and dosing_pg["p95_ms"] < 50 and dosing_pg["failures"] == 0
        )
        print(
            f"dose logging over HTTP ({dosing_pg['clients']} clients, audit on, PostgreSQL "
            f"{dosing_pg['server_version'].split()[0]} synchronous_commit={dosing_pg['synchronous_commit']}, "
            f"{dosing_pg['patients']} patients, {dosing_pg['blocking_threads']} threads per worker): {dosing_pg['recorded']} durable writes in "
            f"{dosing_pg['seconds']:.1f} s = {dosing_pg['per_second']:.0f}/s, p50 {dosing_pg['p50_ms']:.1f} ms, "
            f"p95 {dosing_pg['p95_ms']:.1f} ms, {dosing_pg['failures']} failures "
            f"— target ≥ 300/s and p95 < 50 ms: {'PASS' if dosing_pg_ok else 'FAIL'}"
        )
    print(fhir_api.report([], fhir_mixed).split("\n")[-1])
    export, imported = bulk["export"], bulk["import"]
    if "error" in export:
        print(f"FHIR bulk $export: NOT MEASURED — {export['error']}")
    else:
        print(
            f"FHIR bulk $export: {export['resources']} resources in {export['seconds']:.1f} s = "
            f"{export['per_second']:.0f}/s, peak RSS {export['peak_rss_mb']:.0f} MB; ceiling (serialising the same "
            f"rows) {export.get('ceiling_per_second', 0):.0f}/s — target ≥ 2000/s and < 500 MB: "
            f"{'PASS' if export['passed'] else 'FAIL'}"
        )
    if "error" in imported:
        print(f"FHIR import: NOT MEASURED — {imported['error']}")
    else:
        print(
            f"FHIR import: {imported.get('lines')} resources in {imported['seconds']:.1f} s = "
            f"{imported['per_second']:.0f}/s, {imported.get('failed', 0)} failed; ceiling (parsing the same NDJSON) "
            f"{imported.get('ceiling_per_second', 0):.0f}/s — target ≥ 2000/s: {'PASS' if imported['passed'] else 'FAIL'}"
        )
    if "error" in pages_pg:
        pages_pg_ok = False
        print(f"\npages on PostgreSQL: NOT MEASURED — {pages_pg['error']}")
    else:
        from harness import Result

        pg_results = [Result(**{k: v for k, v in r.items() if k != "passed"}) for r in pages_pg["pages"]]
        pages_pg_ok = all(r.passed for r in pg_results if r.has_target)
        print(
            f"\npages on PostgreSQL {pages_pg['server_version'].split()[0]} "
            f"({pages_pg['patients']} patients, the same pages as above):"
        )
        print(table(pg_results).replace("on SQLite", "on PostgreSQL"))
    if args.explain:
        for result in pages:
            print(f"\nEXPLAIN QUERY PLAN, {result.name} ({result.path}):")
            print(explain(result.sql))

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{stamp}.json"
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": str(args.database),
        "seed": args.seed,
        "patients_in_database": Patient.objects.count(),
        "build_seconds": build_seconds,
        "requests": args.requests,
        "warmup": args.warmup,
        "machine": {
            "python": platform.python_version(),
            "django": django.get_version(),
            "sqlite": sqlite3.sqlite_version,
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "benchmarks": {
            "pages": [r.as_json() for r in results],
            "pdc": pdc,
            "dose_logging": dosing,
            "dose_logging_postgres": dosing_pg,
            "signals": signals,
            "fhir_mixed": fhir_mixed,
            "fhir_bulk": bulk,
            "pages_postgres": pages_pg,
        },
    }
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"\nresults: {path.relative_to(ROOT)}")
    ok = (
        all(r.passed for r in pages)
        and pdc_ok
        and dosing_ok
        and dosing_pg_ok
        and signals["passed"]
        and fhir_mixed["passed"]
        and bulk["export"]["passed"]
        and bulk["import"]["passed"]
        and pages_pg_ok
    )
    return 0 if ok else 1


def subprocess_json(script: str, *args: str) -> dict:
    """benchmarks/<script> in its own process (its own Django settings and database); its last
    line of output is JSON."""
    import subprocess

    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("TANDEM_DATABASE")},
    )
    lines = done.stdout.strip().splitlines()
    try:
        return dict(json.loads(lines[-1]))
    except (IndexError, ValueError):
        return {"error": f"benchmarks/{script} failed: {(done.stderr or done.stdout).strip()[-500:]}"}


def dose_logging_postgres() -> dict:
    return subprocess_json("dose_pg.py")


if __name__ == "__main__":
    sys.exit(main())
