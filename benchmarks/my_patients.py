"""The "My patients" page in a 100 000-patient database.

Signs in as the synthetic population's benchmark care manager (120 patients) and asks for page 1,
page 3 and a search by a family name on the caseload; then page 1 for a psychiatric consultant
(about 600 patients, the largest caseloads). Every request also writes its audit row (the list read
is audited), which is part of what is measured. The ceiling is GET /healthz for the same
signed-in user: the cheapest request through the same middleware.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlencode

from django.test import Client
from harness import BenchmarkError, Result, measure, with_ceiling

from tandem.accounts.models import User
from tandem.accounts.synth import org_slug
from tandem.patients.access import patients_for_clinician


def bench_clinician(seed: int) -> User:
    user = User.objects.filter(
        email__startswith="bench.cm", memberships__organisation__slug=org_slug(seed, 1)
    ).first()
    if user is None:
        raise BenchmarkError(f"no benchmark care manager for seed {seed}; run tandem synth first")
    return user


def consultant(seed: int) -> User | None:
    """The first synthetic psychiatric consultant: about 600 patients, the largest caseloads."""
    return User.objects.filter(email=f"pc0001.s{seed}@synth.tandem").first()


def run(seed: int, *, requests: int, warmup: int) -> tuple[Result, list[Result]]:
    user = bench_clinician(seed)
    caseload = patients_for_clinician(user)
    family, _ = Counter(caseload.values_list("family_name", flat=True)).most_common(1)[0]
    client = Client()
    client.force_login(user)
    ceiling = measure(client, "ceiling: GET /healthz", "/healthz", requests=requests, warmup=warmup)
    ceiling.has_target = False
    pages = [
        measure(client, "my patients, page 1", "/patients/", requests=requests, warmup=warmup),
        measure(client, "my patients, page 3", "/patients/?page=3", requests=requests, warmup=warmup),
        measure(
            client,
            f"my patients, search {family!r}",
            "/patients/?" + urlencode({"q": family}),
            requests=requests,
            warmup=warmup,
        ),
    ]
    largest = consultant(seed)
    if largest is not None:
        count = patients_for_clinician(largest).count()
        client = Client()
        client.force_login(largest)
        pages.append(
            measure(
                client,
                f"consultant ({count} patients), page 1",
                "/patients/",
                requests=requests,
                warmup=warmup,
            )
        )
    return ceiling, with_ceiling(pages, ceiling)
