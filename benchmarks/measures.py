"""Measures in a synthetic database (called by benchmarks/run.py; runnable alone).

- The PHQ-9 trend page of a patient of the benchmark care manager: 12 weeks of scores, the
  regimen, sessions and the stored signal (target p95 < 150 ms).
- One PHQ-9 submitted from the portal through the Django test client: scoring, the audit row and
  the treat-to-target recompute of the patient that runs once the response is committed
  (target p95 < 20 ms). Each submit is a new response.
- The treat-to-target signals of the whole population (`tandem signals`; target < 60 s): a first
  run, which also raises the alerts the population needs, and a repeat run (steady state: the
  alerts are open). The target applies to the repeat run; both are reported.

    .venv/bin/python benchmarks/measures.py [--patients 2000] [--seed 1] [--requests 200]
        [--database var/bench/measures-<patients>.sqlite3]
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TREND_TARGET_MS = 150.0
SUBMIT_TARGET_MS = 20.0
SIGNALS_TARGET_S = 60.0
# PHQ-9 items 1–9 answered, total 9; item 9 is 0 (a positive item 9 runs the safety workflow,
# which has its own benchmark).
ANSWERS = ["LA6569-3"] * 8 + ["LA6568-5"]


def trend_page(seed: int, clinician: Any, *, requests: int, warmup: int) -> Any:
    from django.test import Client
    from django.urls import reverse
    from harness import BenchmarkError, measure

    from tandem.measures.models import InstrumentResponse
    from tandem.patients.models import Patient

    # A patient of the clinician's whom no other benchmark writes to (the portal submission
    # benchmark adds responses to the first portal patient), with a typical history.
    with_scores = InstrumentResponse.objects.filter(instrument="phq-9").values("patient_id")
    patient = (
        Patient.objects.filter(
            mrn__startswith=f"S{seed}-",
            portal_user__isnull=True,
            care_team__user=clinician,
            care_team__end__isnull=True,
            pk__in=with_scores,
        )
        .order_by("pk")
        .first()
    )
    if patient is None:
        raise BenchmarkError(f"no synthetic patient with PHQ-9 scores in the caseload of {clinician}")
    client = Client()
    client.force_login(clinician)
    result = measure(
        client,
        "PHQ-9 trend page (clinician)",
        reverse("measures:trend", kwargs={"patient_id": patient.pk, "instrument": "phq-9"}),
        requests=requests,
        warmup=warmup,
    )
    result.target_ms = TREND_TARGET_MS
    return result


def portal_submission(seed: int, *, requests: int, warmup: int) -> Any:
    from django.test import Client
    from django.urls import reverse
    from harness import BenchmarkError, measure_call

    from tandem.patients.models import Patient

    patient = (
        Patient.objects.filter(portal_user__isnull=False, mrn__startswith=f"S{seed}-")
        .select_related("portal_user")
        .first()
    )
    if patient is None or patient.portal_user is None:
        raise BenchmarkError("no synthetic portal patient; rebuild the synthetic population")
    url = reverse("portal_measures:answer", kwargs={"instrument": "phq-9"})
    client = Client()
    client.force_login(patient.portal_user)

    def submit() -> None:
        data = {"key": secrets.token_urlsafe(16), **{f"q{n + 1}": code for n, code in enumerate(ANSWERS)}}
        response = client.post(url, data)
        if response.status_code != 302:
            raise BenchmarkError(f"POST {url} answered {response.status_code}: {response.content[:300]!r}")

    from tandem.measures.models import InstrumentResponse

    before = (
        InstrumentResponse.objects.filter(patient=patient)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    try:
        return measure_call(
            "PHQ-9 submit + rules (portal)",
            url,
            submit,
            requests=requests,
            warmup=warmup,
            target_ms=SUBMIT_TARGET_MS,
        )
    finally:
        # Leave the patient's history as it was, so that runs stay comparable.
        InstrumentResponse.objects.filter(patient=patient, pk__gt=before or 0).delete()


def signals_all() -> dict[str, Any]:
    from tandem.measures.signals.job import evaluate_all

    figures: dict[str, Any] = {}
    for label in ("first", "repeat"):
        started = time.perf_counter()
        run = evaluate_all()
        figures[f"{label}_s"] = round(time.perf_counter() - started, 2)
        figures[f"{label}_raised"] = run.raised
    figures |= {
        "patients": run.patients,
        "signals": run.signals,
        "states": run.states,
        "target_s": SIGNALS_TARGET_S,
    }
    figures["passed"] = figures["repeat_s"] < SIGNALS_TARGET_S
    return figures


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
    from harness import table
    from my_patients import bench_clinician

    call_command("migrate", verbosity=0, interactive=False)
    built = ensure_population(args.patients, args.seed)
    signals = signals_all()
    pages = [
        trend_page(args.seed, bench_clinician(args.seed), requests=args.requests, warmup=args.warmup),
        portal_submission(args.seed, requests=args.requests, warmup=args.warmup),
    ]
    print(table(pages))
    if built is not None:
        print(f"population of {args.patients} built in {built:.1f} s")
    print(
        f"treat-to-target signals for {signals['patients']} patients ({signals['signals']} signals): "
        f"first run {signals['first_s']} s ({signals['first_raised']} alerts raised), repeat run "
        f"{signals['repeat_s']} s — target < {SIGNALS_TARGET_S:.0f} s: {'PASS' if signals['passed'] else 'FAIL'}"
    )
    return 0 if all(p.passed for p in pages) and signals["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
