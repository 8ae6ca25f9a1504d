"""PQA proportion of days covered for a synthetic population, on one core, without the database.

Target: 100 000 patients with 1 000 000 fills in under 30 s. The population is generated
deterministically (random.Random(seed)): each patient has 10 fills over the measurement year,
mostly one drug refilled on time, early or late, sometimes a switch within the class, sometimes a
fill of a second class, and sometimes a first fill before the year starts. Only the PDC
computation (pdc_many) is timed; building the Fill objects is reported on its own line.

    .venv/bin/python benchmarks/pdc.py [--patients 100000] [--fills 10] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tandem.medications.adherence import Fill, pdc_many

TARGET_SECONDS = 30.0
PERIOD_START = date(2025, 1, 1)
PERIOD_END = date(2025, 12, 31)
CLASSES = {
    "ssri": ["sertraline", "escitalopram", "fluoxetine", "citalopram"],
    "snri": ["venlafaxine", "duloxetine"],
    "sga": ["quetiapine", "aripiprazole", "olanzapine"],
}


def population(patients: int, fills_each: int, seed: int) -> list[tuple[int, list[Fill]]]:
    rng = random.Random(seed)
    names = list(CLASSES)
    result = []
    for patient_id in range(1, patients + 1):
        drug_class = rng.choice(names)
        drug = rng.choice(CLASSES[drug_class])
        day = PERIOD_START + timedelta(days=rng.randint(-40, 120))
        fills = []
        for _ in range(fills_each):
            supply = rng.choice((30, 30, 30, 90))
            if rng.random() < 0.05:  # a switch within the class
                drug = rng.choice(CLASSES[drug_class])
            if rng.random() < 0.1:  # a fill of another class, same day
                other = rng.choice(names)
                fills.append(Fill(rng.choice(CLASSES[other]), other, day, 30))
            else:
                fills.append(Fill(drug, drug_class, day, supply))
            day += timedelta(days=supply + rng.randint(-7, 20))  # early refills to long gaps
        result.append((patient_id, fills))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--fills", type=int, default=10, help="fills per patient (default 10)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    data = population(args.patients, args.fills, args.seed)
    built = time.perf_counter() - started
    n_fills = sum(len(fills) for _, fills in data)

    started = time.perf_counter()
    results = pdc_many(data, PERIOD_START, PERIOD_END)
    seconds = time.perf_counter() - started

    per_class = [r for by_class in results.values() for r in by_class.values()]
    eligible = [r for r in per_class if r.eligible]
    adherent = sum(r.adherent for r in eligible)
    mean_pdc = sum(r.pdc or 0.0 for r in eligible) / len(eligible) if eligible else 0.0
    passed = seconds < TARGET_SECONDS
    print(f"n patients      {args.patients}")
    print(f"n fills         {n_fills}")
    print(f"built fills in  {built:.2f} s (not timed)")
    print(f"seconds         {seconds:.2f}")
    print(f"fills/s         {n_fills / seconds:,.0f}")
    summary = f"{len(per_class)} patient-classes, {len(eligible)} eligible, {adherent} adherent"
    print(f"results         {summary}, mean PDC {mean_pdc:.4f}")
    print(f"{'PASS' if passed else 'FAIL'}            {seconds:.2f} s against {TARGET_SECONDS:.0f} s")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
