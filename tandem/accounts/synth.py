"""Synthetic organisations and clinicians for `tandem synth`.

One organisation per 25 000 patients, each with enough clinicians for the caseloads of a
collaborative-care programme (care manager ~120 patients, therapist ~60, prescriber ~200,
psychiatric consultant ~600). Every synthetic user shares one password hash, computed once:
hashing a few thousand passwords with argon2 would take longer than everything else.

Fills `ctx.org_ids` (in order) and `ctx.user_ids`: `team_key(org_id, role)` names the
organisation's clinicians of that role, in creation order, and `BENCH_KEY` the benchmark care
manager, whose caseload is the run's first `bench_caseload(ctx.patients)` patients.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import CommandError
from django.utils import timezone

from tandem.accounts.models import Membership, Organisation, Role, User
from tandem.core.seeding import SynthContext

PATIENTS_PER_ORG = 25_000
CASELOAD = {
    Role.CARE_MANAGER: 120,
    Role.THERAPIST: 60,
    Role.PRESCRIBER: 200,
    Role.PSYCHIATRIC_CONSULTANT: 600,
}
EMAIL_PREFIX = {
    Role.CARE_MANAGER: "cm",
    Role.THERAPIST: "th",
    Role.PRESCRIBER: "rx",
    Role.PSYCHIATRIC_CONSULTANT: "pc",
}
CREDENTIALS = {
    Role.CARE_MANAGER: ("RN", "RN", "LCSW", "LPC"),
    Role.THERAPIST: ("LCSW", "PhD", "PsyD", "LMFT", "LPC"),
    Role.PRESCRIBER: ("MD", "DO", "PMHNP", "MD"),
    Role.PSYCHIATRIC_CONSULTANT: ("MD", "DO"),
}
TIME_ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")
EMAIL_DOMAIN = "synth.tandem"
BENCH_EMAIL = f"bench.cm@{EMAIL_DOMAIN}"
BENCH_KEY = "bench"
BENCH_CASELOAD = 120

CLINICIAN_GIVEN = (
    "Avery",
    "Blake",
    "Casey",
    "Dana",
    "Elliot",
    "Frances",
    "Gabriel",
    "Harper",
    "Imani",
    "Jonah",
    "Keiko",
    "Lena",
    "Mateo",
    "Nia",
    "Owen",
    "Paloma",
    "Quinn",
    "Rohan",
    "Selin",
    "Tobias",
    "Uma",
    "Vera",
    "Wesley",
    "Ximena",
    "Yusuf",
    "Zara",
)
CLINICIAN_FAMILY = (
    "Abbott",
    "Baker",
    "Castillo",
    "Dawson",
    "Ellison",
    "Farouk",
    "Gallagher",
    "Hoang",
    "Iyer",
    "Jacobs",
    "Kaur",
    "Lindqvist",
    "Mbeki",
    "Navarro",
    "Oyelaran",
    "Park",
    "Quintero",
    "Rasmussen",
    "Sato",
    "Thornton",
    "Underwood",
    "Valdez",
    "Whitaker",
    "Yamamoto",
    "Zielinski",
)


def org_slug(seed: int, index: int) -> str:
    return f"synthetic-s{seed}-{index}"


def org_sizes(patients: int) -> list[int]:
    """How many of the run's patients each synthetic organisation gets, in order."""
    return [min(PATIENTS_PER_ORG, patients - start) for start in range(0, patients, PATIENTS_PER_ORG)]


def bench_caseload(patients: int) -> int:
    return min(BENCH_CASELOAD, patients)


def team_key(org_id: int, role: str) -> str:
    return f"{org_id}:{role}"


def generate(ctx: SynthContext) -> None:
    if Organisation.objects.filter(slug=org_slug(ctx.seed, 1)).exists():
        raise CommandError(
            f"synthetic data for seed {ctx.seed} already exists (organisation {org_slug(ctx.seed, 1)}); "
            "choose another --seed or use a fresh database"
        )
    rng = ctx.rng
    now = timezone.now()
    sizes = org_sizes(ctx.patients)
    orgs = Organisation.objects.bulk_create(
        [
            Organisation(
                name=f"Synthetic Health {k} (seed {ctx.seed})",
                slug=org_slug(ctx.seed, k),
                time_zone=TIME_ZONES[(k - 1) % len(TIME_ZONES)],
                created_at=now,
            )
            for k in range(1, len(sizes) + 1)
        ]
    )
    ctx.org_ids = [org.pk for org in orgs]

    password = make_password(settings.DEMO_PASSWORD)
    # A second seed in the same database cannot reuse the well-known address.
    bench_email = BENCH_EMAIL
    if User.objects.filter(email=bench_email).exists():
        bench_email = f"bench.cm.s{ctx.seed}@{EMAIL_DOMAIN}"
    users = [
        User(
            email=bench_email,
            full_name="Bench Care Manager",
            credentials="RN",
            password=password,
            date_joined=now,
        )
    ]
    placed: list[tuple[int, str]] = [(ctx.org_ids[0], Role.CARE_MANAGER)]
    numbers = dict.fromkeys(CASELOAD, 0)
    for org_id, size in zip(ctx.org_ids, sizes, strict=True):
        for role, caseload in CASELOAD.items():
            served = size
            if role == Role.CARE_MANAGER and org_id == ctx.org_ids[0]:
                served -= bench_caseload(ctx.patients)
            for _ in range(math.ceil(served / caseload)):
                numbers[role] += 1
                given, family = rng.choice(CLINICIAN_GIVEN), rng.choice(CLINICIAN_FAMILY)
                users.append(
                    User(
                        email=f"{EMAIL_PREFIX[role]}{numbers[role]:04d}.s{ctx.seed}@{EMAIL_DOMAIN}",
                        full_name=f"{given} {family}",
                        credentials=rng.choice(CREDENTIALS[role]),
                        password=password,
                        date_joined=now,
                    )
                )
                placed.append((org_id, role))
    User.objects.bulk_create(users, batch_size=ctx.batch)
    Membership.objects.bulk_create(
        [
            Membership(user_id=user.pk, organisation_id=org_id, role=role, created_at=now)
            for user, (org_id, role) in zip(users, placed, strict=True)
        ],
        batch_size=ctx.batch,
    )
    ctx.user_ids[BENCH_KEY] = [users[0].pk]
    for user, (org_id, held) in zip(users[1:], placed[1:], strict=True):
        ctx.user_ids.setdefault(team_key(org_id, held), []).append(user.pk)
    ctx.created["organisations"] = len(orgs)
    ctx.created["clinicians"] = len(users)
