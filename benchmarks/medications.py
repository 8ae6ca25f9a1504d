"""Medications in a 100 000-patient database.

- The medications page of a patient of the benchmark care manager (target p95 < 100 ms).
- PDC for every patient from the database's fills (1 000 000 for 100 000 patients; target < 30 s).
- Dose logging through HTTP with audit on, against `tandem serve` (granian, 2 workers) on this
  machine, through POST /api/doses with a patient's token (what a phone app sends): durable
  writes per second and p95 (targets ≥ 300/s, p95 < 50 ms). Each write is a dose record plus its
  audit row, committed (SQLite WAL, synchronous=FULL) before the answer; the clients run on the
  same two cores.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from django.test import Client
from django.urls import reverse
from django.utils import timezone
from harness import BenchmarkError, Result, measure, percentile

from tandem.accounts.models import User
from tandem.medications.adherence import Fill as PdcFill
from tandem.medications.adherence import pdc_many
from tandem.medications.models import DoseLog, Fill, Regimen
from tandem.patients.models import Patient

ROOT = Path(__file__).resolve().parent.parent


def medication_page(seed: int, clinician: User, *, requests: int, warmup: int) -> Result:
    patient = Patient.objects.filter(mrn=f"S{seed}-{1:07d}").first()
    if patient is None:
        raise BenchmarkError(f"no synthetic patient S{seed}-0000001")
    client = Client()
    client.force_login(clinician)
    return measure(
        client,
        "medications page (clinician)",
        reverse("medications:list", kwargs={"patient_id": patient.pk}),
        requests=requests,
        warmup=warmup,
    )


def pdc_all() -> dict[str, float]:
    """PDC of every patient over the year before the newest fill, read from the database."""
    newest = Fill.objects.order_by("-fill_date").values_list("fill_date", flat=True).first()
    if newest is None:
        raise BenchmarkError("no fills; rebuild the synthetic population")
    end = newest
    start = end - timedelta(days=364)
    started = time.perf_counter()
    rows = Fill.objects.order_by("patient_id").values_list(
        "patient_id", "drug_key", "drug_class", "fill_date", "days_supply"
    )
    by_patient: dict[int, list[PdcFill]] = defaultdict(list)
    count = 0
    for pid, key, cls, day, supply in rows.iterator(chunk_size=20_000):
        by_patient[pid].append(PdcFill(key, cls or key, day, supply))
        count += 1
    read = time.perf_counter() - started
    results = pdc_many(by_patient.items(), start, end)
    total = time.perf_counter() - started
    adherent = sum(1 for r in results.values() for c in r.values() if c.adherent)
    return {
        "patients": len(results),
        "fills": count,
        "read_s": read,
        "total_s": total,
        "adherent_classes": adherent,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dose_logging(
    database_url: str, *, writes: int = 3000, clients: int = 8, workers: int = 2, blocking_threads: int = 1
) -> dict[str, float]:
    """POST as-needed doses as fast as `clients` threads can, through a real server on the
    database at `database_url` (the one this process is connected to)."""
    from tandem.medications.actions import do_start_regimen

    patient = (
        Patient.objects.filter(portal_user__email__startswith="bench.patient")
        .select_related("portal_user")
        .first()
    )
    if patient is None or patient.portal_user is None:
        raise BenchmarkError("no benchmark patient; rebuild the synthetic population")
    regimen = Regimen.objects.filter(patient=patient, drug_key="hydroxyzine").first()
    if regimen is None:
        prescriber = User.objects.filter(email__startswith="rx").first()
        regimen = do_start_regimen(
            patient,
            drug_key="hydroxyzine",
            drug_name="hydroxyzine",
            drug_classes=["anxiolytic"],
            dose_amount=25,
            schedule_kind="prn",
            reason="Benchmark",
            acting_user=prescriber,
            effective_at=timezone.now() - timedelta(days=1),
        )
    before = DoseLog.objects.filter(regimen=regimen).count()
    port = _free_port()
    server = start_server(database_url, port, workers=workers, blocking_threads=blocking_threads)
    from tandem.accounts.actions import do_create_api_token

    token, raw = do_create_api_token(
        patient.portal_user,
        scopes="user/MedicationAdministration.c",
        expires_at=timezone.now() + timedelta(hours=1),
        name="benchmark",
    )
    try:
        _wait_for(port)
        latencies: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()
        per_client = writes // clients

        def worker(n: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            headers = {"Authorization": f"Bearer {raw}", "Content-Type": "application/json"}
            for i in range(per_client):
                body = json.dumps(
                    {
                        "regimen": regimen.pk,
                        "status": "prn",
                        "reason": "benchmark",
                        "idempotency_key": f"bench-{time.time_ns()}-{n}-{i}",
                    }
                )
                started = time.perf_counter()
                conn.request("POST", "/api/doses", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed * 1000)
                    if response.status != 201:
                        failures.append(str(response.status))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - started
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        from tandem.accounts.actions import do_revoke_api_token

        do_revoke_api_token(token)
    recorded = DoseLog.objects.filter(regimen=regimen).count() - before
    latencies.sort()
    return {
        "writes": len(latencies),
        "recorded": recorded,
        "failures": len(failures),
        "seconds": seconds,
        "per_second": recorded / seconds,
        "p50_ms": latencies[len(latencies) // 2],
        "p95_ms": percentile(latencies, 95),
        "clients": clients,
        "workers": workers,
        "blocking_threads": blocking_threads,
    }


def start_server(database_url: str, port: int, *, workers: int, blocking_threads: int) -> subprocess.Popen:
    """`tandem serve` (no worker) on `database_url` in its own process group; stop it with
    os.killpg(server.pid, 15)."""
    env = {
        **os.environ,
        "TANDEM_DATABASE_URL": database_url,
        "TANDEM_PROFILE": "demo",
        "TANDEM_REQUIRE_MFA": "false",
        "DJANGO_SETTINGS_MODULE": "tandem.settings",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tandem",
            "serve",
            "--port",
            str(port),
            "--no-worker",
            "--workers",
            str(workers),
            "--blocking-threads",
            str(blocking_threads),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _wait_for(port: int) -> None:
    for _ in range(600):  # up to two minutes on a busy machine
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise BenchmarkError("the server did not start")
