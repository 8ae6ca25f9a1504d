"""Dose logging on PostgreSQL (called by benchmarks/run.py; runnable alone).

Starts a throwaway PostgreSQL cluster under var/bench/pgdata with durable settings (fsync on,
synchronous_commit on: a dose is on disk before the answer), builds a small synthetic population
(the throughput of one patient's writes does not depend on the number of other patients), runs
the same dose-logging benchmark as on SQLite and prints its figures as JSON on the last line.

    .venv/bin/python benchmarks/dose_pg.py [--patients 2000]

Needs the PostgreSQL server binaries (Debian: apt-get install postgresql); run as root it uses
the `postgres` system account like .ci/run does.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PGDATA = ROOT / "var" / "bench" / "pgdata"


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    return Path(found[-1]) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def start_cluster(binaries: Path, port: int, pgdata: Path = PGDATA, *, keep: bool = False) -> None:
    """Start a cluster in `pgdata` on `port`: a new one, or (keep=True) the one already there."""
    if keep and (pgdata / "PG_VERSION").exists():
        _pg_ctl_start(binaries, port, pgdata)
        return
    shutil.rmtree(pgdata, ignore_errors=True)
    pgdata.mkdir(parents=True, mode=0o700)
    if os.geteuid() == 0:
        if subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
        shutil.chown(pgdata, "postgres", "postgres")
    run = {"check": True, "stdout": subprocess.DEVNULL}
    subprocess.run(
        _as_postgres(
            [
                str(binaries / "initdb"),
                "-D",
                str(pgdata),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        ),
        **run,
    )
    _pg_ctl_start(binaries, port, pgdata)
    subprocess.run(
        _as_postgres(
            [
                str(binaries / "psql"),
                "-h",
                str(pgdata),
                "-p",
                str(port),
                "-U",
                "postgres",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                "CREATE ROLE tandem LOGIN PASSWORD 'tandem' CREATEDB",
                "-c",
                "CREATE DATABASE tandem OWNER tandem",
            ]
        ),
        **run,
    )


def _pg_ctl_start(binaries: Path, port: int, pgdata: Path) -> None:
    run = {"check": True, "stdout": subprocess.DEVNULL}
    # Durable (fsync, synchronous commit) and tuned for solid-state storage as the README's
    # deployment notes advise (random_page_cost 1.1: an index lookup is not 4× a sequential read).
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {pgdata} -c fsync=on -c synchronous_commit=on "
        "-c random_page_cost=1.1"
    )
    subprocess.run(
        _as_postgres(
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(pgdata),
                "-l",
                str(pgdata / "server.log"),
                "-w",
                "-t",
                "30",
                "-o",
                options,
                "start",
            ]
        ),
        **run,
    )


def stop_cluster(binaries: Path, pgdata: Path = PGDATA, *, keep: bool = False) -> None:
    subprocess.run(
        _as_postgres([str(binaries / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"]),
        stdout=subprocess.DEVNULL,
        check=False,
    )
    if not keep:
        shutil.rmtree(pgdata, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    # Two threads per worker, as `tandem serve --help` advises on PostgreSQL.
    parser.add_argument("--blocking-threads", type=int, default=2)
    args = parser.parse_args(argv)
    binaries = pg_bin()
    if binaries is None:
        print(json.dumps({"error": "no PostgreSQL server binaries (Debian: apt-get install postgresql)"}))
        return 2
    port = _free_port()
    url = f"postgres://tandem:tandem@127.0.0.1:{port}/tandem"
    start_cluster(binaries, port)
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
        sys.path.insert(0, str(ROOT / "benchmarks"))
        import django

        django.setup()
        import medications
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0, interactive=False)
        call_command("synth", patients=args.patients, seed=1, no_progress=True)
        assert connection.vendor == "postgresql"
        figures = medications.dose_logging(url, workers=args.workers, blocking_threads=args.blocking_threads)
        figures["patients"] = args.patients
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            figures["synchronous_commit"] = cursor.fetchone()[0]
            cursor.execute("SHOW server_version")
            figures["server_version"] = cursor.fetchone()[0]
        connection.close()
    finally:
        stop_cluster(binaries)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
