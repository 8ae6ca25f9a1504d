"""The FHIR API in a synthetic database (called by benchmarks/run.py; runnable alone).

- Reads (GET /fhir/<Type>/<id>) and patient-scoped searches (GET /fhir/<Type>?patient=…) by the
  benchmark care manager, through the whole Django stack in-process, each audited: targets p95
  < 30 ms (read) and < 100 ms (search).
- A mixed load through a real server (`tandem serve`, no worker) with audit on: client threads
  send 60 % reads, 30 % searches and 10 % creates (a PHQ-9 QuestionnaireResponse for one of 20
  patients in turn, scored and stored by the portal's action, the patient's treat-to-target
  signals recomputed) as fast as they can; target ≥ 300 requests/s. The ceiling is
  the same clients against GET /healthz (a bare endpoint) on the same server in the same run.
The responses created are removed afterwards, so that runs stay comparable.

    .venv/bin/python benchmarks/fhir_api.py [--patients 2000] [--requests 200]
        [--database var/bench/measures-<patients>.sqlite3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

READ_TARGET_MS = 30.0
SEARCH_TARGET_MS = 100.0
MIXED_TARGET_PER_S = 300.0
FHIR = "application/fhir+json"


class Subject:
    """The benchmark care manager, a token, and one of their patients with scores."""

    def __init__(self, seed: int) -> None:
        from django.utils import timezone
        from harness import BenchmarkError
        from my_patients import bench_clinician

        from tandem.accounts.actions import do_create_api_token
        from tandem.measures.models import InstrumentResponse
        from tandem.patients.models import Patient

        self.clinician = bench_clinician(seed)
        with_scores = InstrumentResponse.objects.filter(instrument="phq-9").values("patient_id")
        patients = list(
            Patient.objects.filter(
                mrn__startswith=f"S{seed}-",
                care_team__user=self.clinician,
                care_team__end__isnull=True,
                pk__in=with_scores,
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:20]
        )
        if not patients:
            raise BenchmarkError(f"no patient with PHQ-9 scores in the caseload of {self.clinician}")
        self.patients = patients
        self.patient = patients[0]
        self.responses = list(
            InstrumentResponse.objects.filter(patient_id__in=patients, scored=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:50]
        )
        self.token, self.raw = do_create_api_token(
            self.clinician,
            scopes="user/*.read user/QuestionnaireResponse.c",
            expires_at=timezone.now() + timedelta(hours=2),
            name="benchmark",
        )
        self.first_response = (
            InstrumentResponse.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        )

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.raw}", "Accept": FHIR}

    def reads(self) -> list[str]:
        reads = [f"/fhir/Patient/{p}" for p in self.patients]
        reads += [f"/fhir/Observation/score-{r}" for r in self.responses]
        reads += [f"/fhir/QuestionnaireResponse/{r}" for r in self.responses]
        return reads

    def searches(self) -> list[str]:
        out = []
        for p in self.patients:
            out += [
                f"/fhir/Observation?patient={p}&category=survey&_sort=-date&_count=20",
                f"/fhir/Observation?patient={p}&code=44261-6&date=ge2020-01-01",
                f"/fhir/QuestionnaireResponse?patient={p}",
                f"/fhir/CarePlan?patient={p}&status=active",
                f"/fhir/CareTeam?patient={p}",
            ]
        return out

    def cleanup(self) -> None:
        from tandem.accounts.actions import do_revoke_api_token
        from tandem.measures.models import InstrumentResponse

        InstrumentResponse.objects.filter(
            patient_id__in=self.patients, pk__gt=self.first_response, source="fhir"
        ).delete()
        do_revoke_api_token(self.token)


def phq9_body(client: Any, subject: Subject, key: str, patient: int | None = None) -> str:
    """A PHQ-9 QuestionnaireResponse for `patient` (the subject's first by default), built from
    our own Questionnaire, as a client would."""
    response = client.get("/fhir/Questionnaire/phq-9", headers=subject.headers)
    questionnaire = response.json()
    items = [
        {
            "linkId": item["linkId"],
            "answer": [{"valueCoding": item["answerOption"][0]["valueCoding"]}],
        }
        for item in questionnaire["item"]
        if item.get("answerOption")
    ]
    return json.dumps(
        {
            "resourceType": "QuestionnaireResponse",
            "status": "completed",
            "questionnaire": questionnaire["url"],
            "identifier": {"system": "urn:bench:responses", "value": key},
            "subject": {"reference": f"Patient/{patient or subject.patient}"},
            "authored": "2026-01-05T09:30:00+00:00",
            "item": items,
        }
    )


def _timed_gets(
    name: str, client: Any, subject: Subject, paths: list[str], requests: int, warmup: int, target: float
) -> Any:
    from harness import BenchmarkError, measure_call

    state = {"n": 0}

    def call() -> None:
        path = paths[state["n"] % len(paths)]
        state["n"] += 1
        response = client.get(path, headers=subject.headers)
        if response.status_code != 200:
            raise BenchmarkError(f"GET {path} answered {response.status_code}: {response.content[:300]!r}")

    return measure_call(name, paths[0], call, requests=requests, warmup=warmup, target_ms=target)


def reads_and_searches(seed: int, *, requests: int, warmup: int) -> list[Any]:
    from django.test import Client

    subject = Subject(seed)
    client = Client()
    try:
        return [
            _timed_gets("FHIR read", client, subject, subject.reads(), requests, warmup, READ_TARGET_MS),
            _timed_gets(
                "FHIR patient search", client, subject, subject.searches(), requests, warmup, SEARCH_TARGET_MS
            ),
        ]
    finally:
        subject.cleanup()


def _load(
    port: int, subject: Subject, plan: list[tuple[str, str, str | None]], clients: int
) -> dict[str, Any]:
    """Send `plan` (method, path, body) split over `clients` threads, each on its own connection."""
    from harness import percentile

    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {**subject.headers, "Content-Type": FHIR}
        mine: list[float] = []
        bad: list[str] = []
        for method, path, body in plan[n::clients]:
            started = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            if response.status not in (200, 201):
                bad.append(f"{method} {path}: {response.status}")
        with lock:
            latencies.extend(mine)
            failures.extend(bad)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "failures": len(failures),
        "first_failures": failures[:3],
        "seconds": round(seconds, 2),
        "per_second": round(len(latencies) / seconds, 1),
        "p50_ms": round(latencies[len(latencies) // 2], 2),
        "p95_ms": round(percentile(latencies, 95), 2),
    }


def mixed_throughput(
    seed: int,
    database_url: str,
    *,
    total: int = 3000,
    clients: int = 8,
    workers: int = 2,
    blocking_threads: int = 1,
) -> dict[str, Any]:
    from django.test import Client
    from medications import _free_port, _wait_for, start_server

    subject = Subject(seed)
    reads, searches = subject.reads(), subject.searches()
    body_client = Client()
    plan: list[tuple[str, str, str | None]] = []
    for i in range(total):
        slot = i % 10
        if slot < 6:
            plan.append(("GET", reads[i % len(reads)], None))
        elif slot < 9:
            plan.append(("GET", searches[i % len(searches)], None))
        else:
            plan.append(
                (
                    "POST",
                    "/fhir/QuestionnaireResponse",
                    # spread over the subject's patients, as responses arrive from many patients
                    phq9_body(body_client, subject, f"b{time.time_ns()}-{i}", subject.patients[i % len(subject.patients)]),
                )
            )
    port = _free_port()
    server = start_server(database_url, port, workers=workers, blocking_threads=blocking_threads)
    try:
        _wait_for(port)
        _load(port, subject, plan[: clients * 10], clients)  # warm every worker up
        ceiling = _load(port, subject, [("GET", "/healthz", None)] * total, clients)
        mixed = _load(port, subject, plan, clients)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        subject.cleanup()
    mixed["ceiling_per_second"] = ceiling["per_second"]
    mixed["ratio_to_ceiling"] = round(mixed["per_second"] / ceiling["per_second"], 3)
    mixed |= {"clients": clients, "workers": workers, "target_per_s": MIXED_TARGET_PER_S}
    mixed["passed"] = mixed["per_second"] >= MIXED_TARGET_PER_S and mixed["failures"] == 0
    return mixed


def report(results: list[Any], mixed: dict[str, Any]) -> str:
    from harness import table

    return (
        table(results)
        + f"\nFHIR mixed load ({mixed['clients']} clients, {mixed['workers']} workers, 60 % read / 30 % search / "
        f"10 % create, audit on): {mixed['requests']} requests in {mixed['seconds']} s = {mixed['per_second']}/s, "
        f"p50 {mixed['p50_ms']} ms, p95 {mixed['p95_ms']} ms, {mixed['failures']} failures; ceiling GET /healthz "
        f"{mixed['ceiling_per_second']}/s (ratio {mixed['ratio_to_ceiling']}) — target ≥ "
        f"{MIXED_TARGET_PER_S:.0f}/s: {'PASS' if mixed['passed'] else 'FAIL'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--database", type=Path, default=None)
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parent.parent
    database = args.database or root / "var" / "bench" / f"measures-{args.patients}.sqlite3"
    from run import ensure_population, setup_django

    setup_django(database)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    ensure_population(args.patients, args.seed)
    results = reads_and_searches(args.seed, requests=args.requests, warmup=args.warmup)
    mixed = mixed_throughput(args.seed, f"sqlite:///{database.resolve()}")
    print(report(results, mixed))
    return 0 if all(r.passed for r in results) and mixed["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
