"""The list pages on PostgreSQL (called by benchmarks/run.py; runnable alone).

Starts a PostgreSQL cluster under var/bench/pg-v<synthetic data version>-<patients> (durable
settings: fsync on, synchronous_commit on), builds the same synthetic population as the SQLite
benchmark the first time (the cluster is kept between runs, like the SQLite file, and stopped at
the end), then times the pages whose queries differ most between the two databases — My patients,
the alert inbox, the caseload registry and the organisation dashboard — through the whole Django
stack, with the same ceiling (GET /healthz) measured in the same run. Prints the results as JSON
on the last line.

    .venv/bin/python benchmarks/pages_pg.py [--patients 100000] [--requests 200] [--rebuild]

Needs the PostgreSQL server binaries (Debian: apt-get install postgresql); run as root it uses
the `postgres` system account like .ci/run does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from dose_pg import _free_port, pg_bin, start_cluster, stop_cluster  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rebuild", action="store_true", help="drop the kept cluster and build again")
    args = parser.parse_args(argv)
    binaries = pg_bin()
    if binaries is None:
        print(json.dumps({"error": "no PostgreSQL server binaries (Debian: apt-get install postgresql)"}))
        return 2
    from tandem.core.seeding import SYNTH_VERSION

    pgdata = ROOT / "var" / "bench" / f"pg-v{SYNTH_VERSION}-{args.patients}"
    if args.rebuild:
        shutil.rmtree(pgdata, ignore_errors=True)
    port = _free_port()
    url = f"postgres://tandem:tandem@127.0.0.1:{port}/tandem"
    start_cluster(binaries, port, pgdata, keep=True)
    try:
        os.environ.update(
            {
                "TANDEM_DATABASE_URL": url,
                "TANDEM_PROFILE": "demo",
                "TANDEM_REQUIRE_MFA": "false",
                "TANDEM_DEBUG": "false",
                "DJANGO_SETTINGS_MODULE": "tandem.settings",
            }
        )
        import django

        django.setup()
        import collab
        import measures
        import my_patients
        import registry
        from django.core.management import call_command
        from django.db import connection
        from harness import with_ceiling
        from run import ensure_population

        assert connection.vendor == "postgresql"
        call_command("migrate", verbosity=0, interactive=False)
        started = time.perf_counter()
        built = ensure_population(args.patients, args.seed)
        if built is not None:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        clinician = my_patients.bench_clinician(args.seed)
        ceiling, pages = my_patients.run(args.seed, requests=args.requests, warmup=args.warmup)
        pages += with_ceiling(
            [
                measures.trend_page(args.seed, clinician, requests=args.requests, warmup=args.warmup),
                collab.inbox_page(args.seed, clinician, requests=args.requests, warmup=args.warmup),
                registry.caseload_page(args.seed, clinician, requests=args.requests, warmup=args.warmup),
                registry.dashboard_page(args.seed, clinician, requests=args.requests, warmup=args.warmup),
            ],
            ceiling,
        )
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
        connection.close()
        report = {
            "server_version": version,
            "patients": args.patients,
            "build_seconds": built,
            "seconds": round(time.perf_counter() - started, 1),
            "pages": [{**asdict(r), "sql": []} for r in [ceiling, *pages]],
        }
    finally:
        stop_cluster(binaries, pgdata, keep=True)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
