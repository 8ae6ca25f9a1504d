"""The caseload registry and the organisation dashboard in a synthetic database.

- The caseload page of the benchmark care manager (120 patients; every column of every patient
  is computed, then sorted, filtered and paged): p95 < 200 ms with a fixed query count.
- The organisation dashboard over the whole organisation (aggregate SQL): p95 < 1 s.

Run alone on a synthetic database (after `tandem synth`):
    TANDEM_DATABASE_URL=sqlite:////path/db.sqlite3 .venv/bin/python benchmarks/registry.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

CASELOAD_TARGET_MS = 200.0
DASHBOARD_TARGET_MS = 1000.0


def caseload_page(seed: int, clinician, *, requests: int, warmup: int):
    from django.test import Client
    from django.urls import reverse
    from harness import measure

    client = Client()
    client.force_login(clinician)
    result = measure(
        client,
        "registry caseload (120 patients)",
        reverse("registry:caseload"),
        requests=requests,
        warmup=warmup,
    )
    result.target_ms = CASELOAD_TARGET_MS
    return result


def dashboard_page(seed: int, admin_or_cm, *, requests: int, warmup: int):
    from django.test import Client
    from django.urls import reverse
    from harness import measure

    from tandem.accounts.access import is_org_admin

    client = Client()
    client.force_login(admin_or_cm)
    name = "registry:org_dashboard" if is_org_admin(admin_or_cm) else "registry:dashboard"
    # A page of whole-organisation aggregates (about half a second at 100 000 patients): a few
    # timed requests after one warm-up, which reads the tables into the page cache.
    result = measure(client, "organisation dashboard", reverse(name), requests=10, warmup=1, captured=1)
    result.target_ms = DASHBOARD_TARGET_MS
    return result


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    sys.path[:0] = [str(root / "benchmarks"), str(root)]
    os.environ.setdefault("TANDEM_PROFILE", "demo")
    os.environ["TANDEM_REQUIRE_MFA"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tandem.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from harness import table
    from my_patients import bench_clinician

    call_command("migrate", verbosity=0, interactive=False)
    seed = int(os.environ.get("BENCH_SEED", "1"))
    requests = int(os.environ.get("BENCH_REQUESTS", "50"))
    clinician = bench_clinician(seed)
    results = [
        caseload_page(seed, clinician, requests=requests, warmup=5),
        dashboard_page(seed, clinician, requests=max(10, requests // 5), warmup=2),
    ]
    print(table(results))
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
